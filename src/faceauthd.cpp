// faceauthd: the FaceAuth HTTP service. See src/server/.
#include "server/daemon.h"

int main(int argc, char** argv) { return faceauth::run_daemon(argc, argv); }
