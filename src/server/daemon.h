#pragma once
// faceauthd's entry point: configuration, storage, engine pool, HTTP server, signals.

namespace faceauth {

int run_daemon(int argc, char** argv);

}  // namespace faceauth
