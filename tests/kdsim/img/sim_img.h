/* sim_img.h: macros for kdsim's module images, compiled by mingw-w64 into
 * real PE32+ DLLs (never by the host compiler). Each function owns a local
 * volatile array so its frame size is what the scenario needs, and makes one
 * marked call through a pointer: the return address kdsim stores for its
 * callees is the address right after that call. Nothing here ever runs.
 *   .simfn  records { rva, name } of every function and data symbol
 *   .simcs  records the rva right after each marked call (one per function) */
#ifndef SIM_IMG_H
#define SIM_IMG_H

typedef int (*sim_img_fn)(volatile unsigned char *);
extern sim_img_fn volatile sim_img_hook; /* an ordinary compiler-made call */
extern void *volatile sim_img_next;      /* target of the marked call */

#define SIM_NAME(sym)                                                                              \
    __asm__(".section .simfn,\"dr\"\n\t.rva " #sym "\n\t.asciz \"" #sym "\"\n\t.text");

/* call *sim_img_next(%rip) is ff 15 rel32: 6 bytes, label right after it. */
#define SIM_CALLSITE()                                                                             \
    __asm__ volatile("call *sim_img_next(%%rip)\n1:\n\t.section .simcs,\"dr\"\n\t"                 \
                     ".rva 1b\n\t.text" ::                                                         \
                         : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory")

#define SIM_BODY(n)                                                                                \
    {                                                                                              \
        volatile unsigned char b[n];                                                               \
        b[0] = p[0];                                                                               \
        SIM_CALLSITE();                                                                            \
        return sim_img_hook(b) + b[(n)-1];                                                         \
    }

/* Three values live across the calls: the compiler saves rbx/rsi/rdi (PUSH_NONVOL). */
#define SIM_BODY3(n)                                                                               \
    {                                                                                              \
        volatile unsigned char b[n];                                                               \
        unsigned x = p[1], y = p[2], z = p[3];                                                     \
        b[0] = p[0];                                                                               \
        SIM_CALLSITE();                                                                            \
        return sim_img_hook(b) + b[(n)-1] + (int)(x * y + z * (x ^ y));                            \
    }

#define SIM_DECL(name) int name(volatile unsigned char *p)
#define SIM_XDECL(name) __declspec(dllexport) int name(volatile unsigned char *p)

/* Internal (not exported) and exported functions, plain or with saved registers. */
#define SIM_FN(name, n)                                                                            \
    SIM_NAME(name) SIM_DECL(name);                                                                 \
    SIM_DECL(name) SIM_BODY(n)
#define SIM_FN3(name, n)                                                                           \
    SIM_NAME(name) SIM_DECL(name);                                                                 \
    SIM_DECL(name) SIM_BODY3(n)
#define SIM_XFN(name, n)                                                                           \
    SIM_NAME(name) SIM_XDECL(name);                                                                \
    SIM_XDECL(name) SIM_BODY(n)
#define SIM_XFN3(name, n)                                                                          \
    SIM_NAME(name) SIM_XDECL(name);                                                                \
    SIM_XDECL(name) SIM_BODY3(n)

/* The hook pointers every image defines once. */
#define SIM_IMAGE_GLOBALS                                                                          \
    sim_img_fn volatile sim_img_hook;                                                              \
    void *volatile sim_img_next;

/* A driver's entry point (the link passes --entry DriverEntry). */
#define SIM_DRIVER_ENTRY                                                                           \
    int DriverEntry(void *driver, void *path);                                                     \
    int DriverEntry(void *driver, void *path)                                                      \
    {                                                                                              \
        (void)driver;                                                                              \
        (void)path;                                                                                \
        return 0;                                                                                  \
    }

#endif
