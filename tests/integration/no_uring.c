/* Test helper: runs a program where io_uring is unavailable, the way a container's seccomp
 * profile makes it, to check that barrage says so plainly; or where the kernel refuses
 * large submissions, to check that a submit failing mid-run ends the run cleanly.
 *
 *   no_uring enosys PROGRAM [ARGS...]   io_uring_setup fails with ENOSYS (Docker's default)
 *   no_uring eperm  PROGRAM [ARGS...]   io_uring_setup fails with EPERM
 *   no_uring bigsubmit N PROGRAM [ARGS...]
 *                                       io_uring_enter fails with ENOMEM when it is asked to
 *                                       submit N or more entries (to_submit, its second
 *                                       argument, low 32 bits); everything else works
 *
 * Installs a seccomp BPF filter (after PR_SET_NO_NEW_PRIVS, so no privilege is needed) that
 * fails those calls (enosys, eperm: io_uring_setup, io_uring_enter and io_uring_register,
 * with that errno) and allows every other system call, checks that it works, then execs
 * PROGRAM. Exit 125 when the filter cannot be installed (or the arguments are wrong).
 * Built by tests/integration/70_bad_input.sh: cc -O2 -o no_uring no_uring.c
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The low 32 bits of system call argument i in struct seccomp_data (a BPF load is 32 bits). */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

static int install(struct sock_filter *filter, unsigned short len)
{
    struct sock_fprog prog = {.len = len, .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        perror("no_uring: prctl(PR_SET_NO_NEW_PRIVS)");
        return -1;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("no_uring: prctl(PR_SET_SECCOMP)");
        return -1;
    }
    return 0;
}

/* bigsubmit N: io_uring_enter(fd, to_submit >= N, ...) fails with ENOMEM, as when the kernel
 * cannot allocate for a submission; smaller submissions and every other call go through. */
static int big_submit(int argc, char **argv)
{
    char *end;
    errno = 0;
    unsigned long n = argc > 3 ? strtoul(argv[2], &end, 10) : 0;
    if (argc < 4 || errno || end == argv[2] || *end || argv[2][0] == '-' || n < 1 || n > 0xffffffffUL) {
        fprintf(stderr, "usage: %s bigsubmit N PROGRAM [ARGS...]   (N: 1 to 4294967295)\n", argv[0]);
        return 125;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),   /* another ABI: leave it alone */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),  /* to_submit (an unsigned int) */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)n, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOMEM & SECCOMP_RET_DATA)),
    };
    if (install(filter, sizeof(filter) / sizeof(filter[0]))) return 125;
    /* The filter works: a submission of N fails with ENOMEM, one of fewer reaches the kernel
     * (which refuses the descriptor -1 with EBADF). */
    long r = syscall(__NR_io_uring_enter, -1, (unsigned)n, 0, 0, NULL, 0);
    int e = errno;
    long r0 = syscall(__NR_io_uring_enter, -1, (unsigned)(n - 1), 0, 0, NULL, 0);
    if (r != -1 || e != ENOMEM || r0 != -1 || errno == ENOMEM) {
        fprintf(stderr, "no_uring: the filter does not fail io_uring_enter of %lu (got %ld, %s)\n", n, r, strerror(e));
        return 125;
    }
    execvp(argv[3], argv + 3);
    perror("no_uring: exec");
    return 127;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "bigsubmit")) return big_submit(argc, argv);
    if (argc < 3 || (strcmp(argv[1], "enosys") && strcmp(argv[1], "eperm"))) {
        fprintf(stderr, "usage: %s enosys|eperm PROGRAM [ARGS...]\n       %s bigsubmit N PROGRAM [ARGS...]\n",
                argv[0], argv[0]);
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
    if (install(filter, sizeof(filter) / sizeof(filter[0]))) return 125;
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
