/* test_decode.c: `kdwatch decode` on the real captures in ../shared/captures:
 * exact counts, cross-checked against the fact sheet's independent decode
 * (§9) and tshark's own UDP fields (per-direction and per-channel counts). */
#include "check.h"
#include "decode.h"

#include <unistd.h>

static char path_buf[512];
static const char *cap(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/captures/%s", check_shared_dir(), name);
    return path_buf;
}

static int run(const char *name, const char *key, bool json, struct decode_stats *st, char *out,
               size_t outcap)
{
    struct decode_options o = {.path = cap(name), .key = key, .json = json, .quiet = !out};
    FILE *devnull = fopen("/dev/null", "w");
    FILE *f = out ? fmemopen(out, outcap, "w") : devnull;
    int rc = decode_run(&o, f, devnull, st);
    if (out)
        fclose(f);
    fclose(devnull);
    return rc;
}

TEST(windbg_uncut_counts)
{
    struct decode_stats st;
    CHECK_EQ(run("windbg-uncut.pcapng", "8.8.8.8", false, &st, NULL, 0), 0);
    CHECK_EQ(st.frames, 955);
    CHECK_EQ(st.datagrams, 955);
    CHECK_EQ(st.opened, 955);
    CHECK_EQ(st.auth_failed, 0);
    CHECK_EQ(st.dir_t2h, 692); /* tshark: 692 from 192.168.2.72:51111 */
    CHECK_EQ(st.dir_h2t, 263);
    CHECK_EQ(st.control_dg, 428);
    CHECK_EQ(st.data_dg, 527);
    CHECK_EQ(st.handshakes, 1);
    CHECK_EQ(st.conn_checks, 1);
    CHECK_EQ(st.data_packets, 263);
    CHECK_EQ(st.checksum_ok, 263);
    CHECK_EQ(st.checksum_bad, 0);
    CHECK_EQ(st.control_packets, 263);
    CHECK_EQ(st.by_type[2], 187); /* STATE_MANIPULATE */
    CHECK_EQ(st.by_type[3], 7);   /* DEBUG_IO */
    CHECK_EQ(st.by_type[4], 259); /* ACK */
    CHECK_EQ(st.by_type[5], 2);   /* RESEND */
    CHECK_EQ(st.by_type[6], 2);   /* RESET */
    CHECK_EQ(st.by_type[7], 3);   /* STATE_CHANGE64 */
    CHECK_EQ(st.by_type[11], 66); /* FILE_IO */
    /* requests / replies per API */
    CHECK_EQ(st.api_req[0x00], 44);
    CHECK_EQ(st.api_rep[0x00], 44); /* ReadVirtualMemory */
    CHECK_EQ(st.api_req[0x02], 5);
    CHECK_EQ(st.api_rep[0x02], 5); /* GetContext */
    CHECK_EQ(st.api_req[0x03], 2);
    CHECK_EQ(st.api_rep[0x03], 2); /* SetContext */
    CHECK_EQ(st.api_req[0x05], 32);
    CHECK_EQ(st.api_rep[0x05], 32); /* RestoreBreakPoint */
    CHECK_EQ(st.api_req[0x06], 1);
    CHECK_EQ(st.api_rep[0x06], 0); /* Continue */
    CHECK_EQ(st.api_req[0x07], 3);
    CHECK_EQ(st.api_rep[0x07], 3); /* ReadControlSpace */
    CHECK_EQ(st.api_req[0x08], 2);
    CHECK_EQ(st.api_rep[0x08], 2); /* WriteControlSpace */
    CHECK_EQ(st.api_req[0x0C], 2);
    CHECK_EQ(st.api_rep[0x0C], 0); /* Continue2 */
    CHECK_EQ(st.api_req[0x16], 1);
    CHECK_EQ(st.api_rep[0x16], 1); /* GetVersion */
    CHECK_EQ(st.api_req[0x2F], 3);
    CHECK_EQ(st.api_rep[0x2F], 3); /* GetContextEx */
    CHECK_EQ(st.api_unknown, 0);
    CHECK_EQ(st.state[0], 1); /* exception */
    CHECK_EQ(st.state[1], 2); /* load symbols (winload.efi, then unload-all) */
    CHECK_EQ(st.print_strings, 7);
    CHECK_EQ(st.file_io, 66); /* 33 CreateFile requests + 33 host replies */
}

TEST(windbg_uncut_lines)
{
    static char out[1 << 20];
    struct decode_stats st;
    CHECK_EQ(run("windbg-uncut.pcapng", "8.8.8.8", false, &st, out, sizeof out), 0);
    /* The decoded GetVersion reply of the boot debugger, field by field. */
    CHECK(strstr(out, "GetVersion reply cpu=65535 status=STATUS_SUCCESS major=0x40f build=10586 "
                      "protocol=6 secondary=2 flags=0x2 machine=AMD64 max_packet_type=12 "
                      "max_state_change=0x32 max_manipulate=0x59 kern_base=0x96f000 "
                      "ps_loaded_module_list=0xad5e60 debugger_data_list=0x0") != NULL);
    CHECK(strstr(out, "LoadSymbols cpu=0 cpus=1 thread=0x0 pc=0xa79685 image=\"winload.efi\" "
                      "base=0x96f000 size=0x17d000 checksum=0x149e3f") != NULL);
    CHECK(strstr(out, "code=STATUS_BREAKPOINT address=0x9cf07d") != NULL);
    CHECK(strstr(out, "CONNCHECK        id=0xc0a80201 host=192.168.2.1") != NULL);
    CHECK(strstr(out, "PrintString cpu=0 text=\"BD: Boot Debugger Initialized\\n\"") != NULL);
    CHECK(strstr(out, "Continue2 cpu=0 continue=0x10002 trace=0 dr7=0x400 symbol_start=0x1 "
                      "symbol_end=0x0") != NULL);
    CHECK(strstr(out, "ReadVirtualMemory reply cpu=110 status=STATUS_UNSUCCESSFUL "
                      "addr=0xfffff780000003d8") != NULL);
}

TEST(win81_counts_and_version)
{
    static char out[1 << 16];
    struct decode_stats st;
    CHECK_EQ(run("win81-kernel-fragments.pcap", "1.1.1.1", false, &st, out, sizeof out), 0);
    CHECK_EQ(st.datagrams, 17);
    CHECK_EQ(st.opened, 17);
    CHECK_EQ(st.dir_t2h, 10); /* tshark: 10 from 10.0.0.2 */
    CHECK_EQ(st.dir_h2t, 7);
    CHECK_EQ(st.control_dg, 3);
    CHECK_EQ(st.data_dg, 14);
    CHECK_EQ(st.conn_checks, 1);
    CHECK_EQ(st.breakins, 1);
    CHECK_EQ(st.data_packets, 7);
    CHECK_EQ(st.checksum_ok, 7);
    CHECK_EQ(st.control_packets, 5);
    CHECK_EQ(st.by_type[2], 5);
    CHECK_EQ(st.by_type[4], 2);
    CHECK_EQ(st.by_type[5], 1);
    CHECK_EQ(st.by_type[6], 2);
    CHECK_EQ(st.by_type[7], 2);
    CHECK_EQ(st.api_req[0x16], 1);
    CHECK_EQ(st.api_rep[0x16], 1);
    CHECK_EQ(st.api_req[0x00], 1);
    CHECK_EQ(st.api_rep[0x00], 1);
    CHECK_EQ(st.api_rep[0x2F], 1);
    CHECK(strstr(out, "GetVersion reply cpu=0 status=STATUS_SUCCESS major=0xf build=9600 "
                      "protocol=6 secondary=2 flags=0x7 machine=AMD64 max_packet_type=12 "
                      "max_state_change=0x3 max_manipulate=0x31 kern_base=0xfffff8026bc18000 "
                      "ps_loaded_module_list=0xfffff8026bee22d0 "
                      "debugger_data_list=0xfffff8026bef91f0") != NULL);
    CHECK(strstr(out, "RESET            id=0x00000926") != NULL);
}

TEST(midsession_control_only)
{
    struct decode_stats st;
    CHECK_EQ(run("midsession-no-handshake.pcap", "1.2.3.4", false, &st, NULL, 0), 0);
    CHECK_EQ(st.datagrams, 704);
    CHECK_EQ(st.control_dg, 10);
    CHECK_EQ(st.data_dg, 694);
    CHECK_EQ(st.opened, 10);
    CHECK_EQ(st.nokey, 694);
    CHECK_EQ(st.auth_failed, 0);
    CHECK_EQ(st.duplicates, 352);
    CHECK_EQ(st.dir_t2h, 356); /* tshark: 356 from 192.168.1.105 */
    CHECK_EQ(st.dir_h2t, 348);
    CHECK_EQ(st.data_packets, 0);
}

TEST(wrong_key_fails_once)
{
    struct decode_stats st;
    char errbuf[4096] = "";
    struct decode_options o = {.path = cap("windbg-uncut.pcapng"), .key = "1.2.3.4", .quiet = true};
    FILE *devnull = fopen("/dev/null", "w");
    FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
    int rc = decode_run(&o, devnull, err, &st);
    fclose(err);
    fclose(devnull);
    CHECK_EQ(rc, 1);
    CHECK_EQ(st.opened, 0);
    CHECK_EQ(st.auth_failed, 428);
    CHECK(strstr(errbuf, "the HMAC does not verify (wrong key?)") != NULL);
    /* said once, and not blamed on a missing handshake */
    const char *first = strstr(errbuf, "wrong key?");
    CHECK(first && !strstr(first + 1, "wrong key?"));
    CHECK(strstr(errbuf, "handshake") == NULL);
}

TEST(bad_key_text)
{
    char errbuf[512] = "";
    struct decode_options o = {.path = cap("windbg-uncut.pcapng"), .key = "1.2.3", .quiet = true};
    FILE *devnull = fopen("/dev/null", "w");
    FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
    CHECK_EQ(decode_run(&o, devnull, err, NULL), 2);
    fclose(err);
    fclose(devnull);
    CHECK(strstr(errbuf, "bad KDNET key") != NULL);
}

/* A capture cut inside a frame: everything before decodes, the damage is
 * named with its frame number, the exit status says so. */
TEST(truncated_capture)
{
    FILE *in = fopen(cap("windbg-uncut.pcapng"), "rb");
    CHECK(in != NULL);
    if (!in)
        return;
    static uint8_t buf[400000];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    char tmp[] = "/tmp/kdw_cutXXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fwrite(buf, 1, n < 100000 ? n : 100000, f);
    fclose(f);
    char errbuf[2048] = "";
    struct decode_stats st;
    struct decode_options o = {.path = tmp, .key = "8.8.8.8", .quiet = true};
    FILE *devnull = fopen("/dev/null", "w");
    FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
    int rc = decode_run(&o, devnull, err, &st);
    fclose(err);
    fclose(devnull);
    unlink(tmp);
    CHECK_EQ(rc, 1);
    CHECK_EQ(st.frames, 523);
    CHECK_EQ(st.opened, 523);
    CHECK_EQ(st.file_error, 1);
    CHECK(strstr(errbuf, "after frame 523") != NULL);
}

/* A corrupted byte inside one datagram: that datagram fails its HMAC and is
 * named; every other one still decodes. */
TEST(corrupted_datagram)
{
    FILE *in = fopen(cap("win81-kernel-fragments.pcap"), "rb");
    CHECK(in != NULL);
    if (!in)
        return;
    static uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    buf[n - 20] ^= 0x40; /* inside the last datagram's tag */
    char tmp[] = "/tmp/kdw_badXXXXXX";
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    char errbuf[2048] = "";
    struct decode_stats st;
    struct decode_options o = {.path = tmp, .key = "1.1.1.1", .quiet = true};
    FILE *devnull = fopen("/dev/null", "w");
    FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
    int rc = decode_run(&o, devnull, err, &st);
    fclose(err);
    fclose(devnull);
    unlink(tmp);
    CHECK_EQ(rc, 1);
    CHECK_EQ(st.opened, 16);
    CHECK_EQ(st.auth_failed, 1);
    CHECK(strstr(errbuf, "first at frame 17") != NULL);
}

TEST(json_lines)
{
    static char out[1 << 20];
    struct decode_stats st;
    CHECK_EQ(run("win81-kernel-fragments.pcap", "1.1.1.1", true, &st, out, sizeof out), 0);
    int lines = 0, bad = 0;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        lines++;
        size_t n = strlen(l);
        if (l[0] != '{' || l[n - 1] != '}')
            bad++;
    }
    CHECK_EQ(lines, 18); /* 17 datagrams + the summary */
    CHECK_EQ(bad, 0);
}

int main(void)
{
    RUN(windbg_uncut_counts);
    RUN(windbg_uncut_lines);
    RUN(win81_counts_and_version);
    RUN(midsession_control_only);
    RUN(wrong_key_fails_once);
    RUN(bad_key_text);
    RUN(truncated_capture);
    RUN(corrupted_datagram);
    RUN(json_lines);
    return check_summary("test_decode");
}
