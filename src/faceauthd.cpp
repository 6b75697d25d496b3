// faceauthd: the FaceAuth HTTP service. See src/server/.
#include <malloc.h>

#include "server/daemon.h"

int main(int argc, char** argv) {
  // A fixed mmap threshold: decoded images and network buffers (hundreds of KB to MB) are
  // mmapped and returned to the system when freed. With glibc's default dynamic threshold they
  // move onto the worker threads' heap arenas after the first free, and the server's resident
  // memory grew by about 4 MB per 1,000 requests from fragmentation (README, API under load).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  return faceauth::run_daemon(argc, argv);
}
