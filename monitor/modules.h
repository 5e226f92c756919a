/* modules.h: the loaded-module list (PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY,
 * x64: DllBase 0x30, SizeOfImage 0x40, FullDllName 0x48, BaseDllName 0x58;
 * kd-protocol.md §8.4), with each module's PE image parsed lazily and cached.
 * The walk is bounded (MODULES_MAX entries), detects loops, checks every
 * link (canonical kernel address, Blink pointing back) and stops at the
 * first bad one with an error, keeping what it read before. */
#ifndef MODULES_H
#define MODULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"
#include "pe_image.h"

#define MODULES_MAX 4096
#define MODULES_NAME_MAX 128    /* BaseDllName as UTF-8, NUL included */
#define MODULES_PATH_MAX 512    /* FullDllName as UTF-8, NUL included */
#define MODULES_ENTRY_SIZE 0x68 /* bytes of the entry read: links .. BaseDllName */

struct module {
    uint64_t entry; /* address of its KLDR_DATA_TABLE_ENTRY */
    uint64_t base;
    uint32_t size;
    char name[MODULES_NAME_MAX]; /* "" when the name could not be read */
    char path[MODULES_PATH_MAX];
    struct pe_image *pe; /* NULL until modules_pe() succeeds */
    int pe_status;       /* cached failure of the lazy parse */
    bool pe_tried;
};

struct modules {
    uint64_t list_head;
    struct module *v; /* load order */
    size_t n, cap;
    bool complete;   /* the last walk came back to the head */
    int walk_status; /* status of the last walk */
};

/* NULL on allocation failure. */
struct modules *modules_new(void);
void modules_free(struct modules *m);

/* Walks the list at list_head and replaces m's entries. Modules whose entry,
 * base and size are unchanged keep their parsed PE image (so a re-walk after
 * a module load re-reads only the new ones). Returns KD_OK when the walk got
 * back to the head; on a bad link (not a kernel address, unreadable, Blink
 * mismatch, a repeated node) KD_ERR_FORMAT or the read error, on more than
 * MODULES_MAX entries KD_ERR_LENGTH; in every case m holds the entries read
 * before the failure and complete = false. */
int modules_walk(const struct kd_target *t, uint64_t list_head, struct modules *m);

/* The module whose [base, base + size) holds va, or NULL. */
struct module *modules_find(const struct modules *m, uint64_t va);
/* By BaseDllName, ASCII case-insensitive, or NULL. */
struct module *modules_find_name(const struct modules *m, const char *name);

/* The module's PE image, parsed on first use (headers only; exports and pdata
 * load on their own first use). The failure status is cached; call
 * modules_forget_pe() to retry (e.g. after the image was paged in). */
int modules_pe(const struct kd_target *t, struct module *mod, struct pe_image **out);
void modules_forget_pe(struct module *mod);

/* UTF-16LE units (n bytes, n even) to NUL-terminated UTF-8 in out[cap]:
 * unpaired surrogates and controls become '?', output is cut on a character
 * boundary. Returns the bytes written without the NUL. */
size_t modules_utf16_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
