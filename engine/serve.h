/* `barrage serve`: the built-in HTTP/1.1 target server (loopback tests, demos, benchmarks).
 *
 * Everything else about it is private to engine/serve*.c; serve.c documents the flags. */
#ifndef BARRAGE_SERVE_H
#define BARRAGE_SERVE_H

/* argv[0] is "serve". Runs until SIGINT or SIGTERM; returns the process exit code:
 * 0 after a clean stop, 1 when setup or a worker failed, 2 for bad flags. */
int serve_main(int argc, char **argv);

#endif
