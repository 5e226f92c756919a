/* kdnet_fuzz_keys.h: the fixed keys of fuzz_kdnet.c, shared with
 * gen_kdnet_corpus.c so the seeds it seals open in the harness. The control
 * key is the text 8.8.8.8 (four u64, little-endian); the data key is any
 * fixed 32 bytes (this one happens to be the data key that windbg-uncut's
 * handshake derives, fact sheet §9; no capture bytes are needed). */
#ifndef KDNET_FUZZ_KEYS_H
#define KDNET_FUZZ_KEYS_H

#include <stdint.h>

static const uint8_t kdnet_fuzz_keys_control[32] = {8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0,
                                                    8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t kdnet_fuzz_keys_data[32] = {
    0x6b, 0xd9, 0x1c, 0x57, 0xbd, 0x6a, 0x55, 0x1a, 0xd3, 0x0b, 0x50, 0x9c, 0x05, 0xc0, 0xc9, 0x5b,
    0x32, 0xcc, 0x5e, 0x47, 0xa0, 0x86, 0x69, 0x07, 0xea, 0xf0, 0xb1, 0x58, 0x33, 0x84, 0xf6, 0x60};

#endif
