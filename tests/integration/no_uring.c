/* Test helper: runs a program where io_uring is unavailable, the way a container's seccomp
 * profile makes it, to check that barrage says so plainly.
 *
 *   no_uring enosys PROGRAM [ARGS...]   io_uring_setup fails with ENOSYS (Docker's default)
 *   no_uring eperm  PROGRAM [ARGS...]   io_uring_setup fails with EPERM
 *
 * Installs a seccomp BPF filter (after PR_SET_NO_NEW_PRIVS, so no privilege is needed) that
 * fails io_uring_setup, io_uring_enter and io_uring_register with that errno and allows every
 * other system call, then execs PROGRAM. Exit 125 when the filter cannot be installed.
 * Built by tests/integration/70_bad_input.sh: cc -O2 -o no_uring no_uring.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define ARCH AUDIT_ARCH_RISCV64
#else
#error "no_uring: add this architecture's AUDIT_ARCH_*"
#endif

/* The same numbers on every architecture (they came after the syscall tables were unified). */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "enosys") && strcmp(argv[1], "eperm"))) {
        fprintf(stderr, "usage: %s enosys|eperm PROGRAM [ARGS...]\n", argv[0]);
        return 125;
    }
    unsigned err = strcmp(argv[1], "enosys") ? EPERM : ENOSYS;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),   /* another ABI: leave it alone */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        perror("no_uring: prctl(PR_SET_NO_NEW_PRIVS)");
        return 125;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("no_uring: prctl(PR_SET_SECCOMP)");
        return 125;
    }
    /* The filter works: io_uring_setup now fails with err. */
    long r = syscall(__NR_io_uring_setup, 4, NULL);
    if (r != -1 || errno != (int)err) {
        fprintf(stderr, "no_uring: the filter does not block io_uring_setup (got %ld, %s)\n", r, strerror(errno));
        return 125;
    }
    execvp(argv[2], argv + 2);
    perror("no_uring: exec");
    return 127;
}
