/* test_monitor_kdbg.c: KDDEBUGGER_DATA64 location and decode. */
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "kdbg.h"

/* A block with a distinct value in every field the monitor decodes. */
static void fill_block(uint8_t *b, uint32_t size)
{
    memset(b, 0, 0x380);
    kd_put64(b, 0xFFFFF80000038300ull);
    kd_put64(b + 8, 0xFFFFF80000038300ull);
    kd_put32(b + 0x10, KDBG_OWNER_TAG);
    kd_put32(b + 0x14, size);
    for (int f = 0; f < KDBG_NFIELDS; f++) {
        uint32_t off = kdbg_field_offset((enum kdbg_field)f);
        uint64_t v = 0xFFFFF80000000000ull + 0x1000ull * (uint64_t)(f + 1) + off;
        if (off >= 0x298 && off < 0x360 && off != 0x340 && off != 0x344)
            kd_put16(b + off, (uint16_t)(0x100 + f));
        else if (off == 0x340 || off == 0x344)
            kd_put32(b + off, 0x20000u + (uint32_t)f);
        else
            kd_put64(b + off, v);
    }
}

static uint64_t expect(int f)
{
    uint32_t off = kdbg_field_offset((enum kdbg_field)f);
    if (off == 0x340 || off == 0x344)
        return 0x20000u + (uint32_t)f;
    if (off >= 0x298 && off < 0x360)
        return 0x100u + (uint32_t)f;
    return 0xFFFFF80000000000ull + 0x1000ull * (uint64_t)(f + 1) + off;
}

static void test_decode_every_field(void)
{
    uint8_t b[0x380];
    struct kdbg k;
    fill_block(b, 0x380);
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_OK);
    CHECK(!k.encoded);
    CHECK_EQ(k.size, 0x380);
    for (int f = 0; f < KDBG_NFIELDS; f++) {
        CHECK(kdbg_has(&k, (enum kdbg_field)f));
        CHECK_EQ(kdbg_get(&k, (enum kdbg_field)f), expect(f));
    }
    /* Spot checks of the table itself against kd-protocol.md §5.2. */
    CHECK_EQ(kdbg_field_offset(KDBG_KI_PROCESSOR_BLOCK), 0x218);
    CHECK_EQ(kdbg_field_offset(KDBG_OFF_KTHREAD_STACK_LIMIT), 0x340);
    CHECK_EQ(kdbg_field_offset(KDBG_OFF_PRCB_ISR_STACK), 0x356);
    CHECK_EQ(kdbg_field_offset(KDBG_OFF_PRCB_PROC_STATE_SPECIAL_REG), 0x2F2);
    CHECK_STR(kdbg_field_name(KDBG_KI_BUGCHECK_DATA), "KiBugcheckData");
    CHECK_STR(kdbg_field_name(KDBG_NFIELDS), "?");
}

static void test_truncated_size_respected(void)
{
    uint8_t b[0x380];
    struct kdbg k;
    /* A Windows 7-sized block: ends at 0x340, so no StackLimit/StackBase. */
    fill_block(b, 0x340);
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_OK);
    CHECK(kdbg_has(&k, KDBG_OFF_PRCB_CONTEXT));
    CHECK(!kdbg_has(&k, KDBG_OFF_KTHREAD_STACK_LIMIT));
    CHECK(!kdbg_has(&k, KDBG_OFF_KTHREAD_STACK_BASE));
    CHECK(!kdbg_has(&k, KDBG_PTE_BASE));
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_STACK_LIMIT), 0);
    /* Size 0x29E cuts OffsetKThreadInitialStack (0x29E..0x2A0) exactly. */
    fill_block(b, 0x29E);
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_OK);
    CHECK(kdbg_has(&k, KDBG_OFF_KTHREAD_KERNEL_STACK));
    CHECK(!kdbg_has(&k, KDBG_OFF_KTHREAD_INITIAL_STACK));
    /* Fewer bytes than Size: limited by what was read. */
    fill_block(b, 0x380);
    CHECK_EQ(kdbg_decode(b, 0x220, &k), KD_OK);
    CHECK(kdbg_has(&k, KDBG_KI_PROCESSOR_BLOCK));
    CHECK(!kdbg_has(&k, KDBG_OFF_KTHREAD_TEB));
    /* Sizes that cannot be a KDBG. */
    fill_block(b, 0x1F);
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_ERR_FORMAT);
    fill_block(b, KDBG_SIZE_MAX + 1);
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_ERR_LENGTH);
    CHECK_EQ(k.present, 0);
    CHECK_EQ(kdbg_decode(b, 0x17, &k), KD_ERR_TRUNCATED);
}

static void test_encoded_block(void)
{
    uint8_t b[0x380];
    struct kdbg k;
    fill_block(b, 0x380);
    kd_put32(b + 0x10, 0x8D3A2F61); /* what an encoded tag looks like: noise */
    CHECK_EQ(kdbg_decode(b, sizeof b, &k), KD_ERR_FORMAT);
    CHECK(k.encoded);
    CHECK_EQ(k.present, 0);
    CHECK(!kdbg_has(&k, KDBG_KERN_BASE));
    CHECK_EQ(kdbg_get(&k, KDBG_KI_PROCESSOR_BLOCK), 0);
}

static void test_read_from_target(void)
{
    struct fake_world w;
    struct kdbg k;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK(fake_world_build(&w, &lay, 2, 2) == 0);
    CHECK_EQ(kdbg_read(&w.t, &w.v, &k), KD_OK);
    CHECK_EQ(k.address, w.kdbg);
    CHECK_EQ(k.list_head, w.kdbg_head);
    CHECK_EQ(kdbg_get(&k, KDBG_KERN_BASE), w.nt_base);
    CHECK_EQ(kdbg_get(&k, KDBG_BREAKPOINT_WITH_STATUS), w.nt_base + 0x1100);
    CHECK_EQ(kdbg_get(&k, KDBG_PS_LOADED_MODULE_LIST), w.module_head);
    CHECK_EQ(kdbg_get(&k, KDBG_PS_ACTIVE_PROCESS_HEAD), w.process_head);
    CHECK_EQ(kdbg_get(&k, KDBG_KI_BUGCHECK_DATA), w.nt_base + 0x38900);
    CHECK_EQ(kdbg_get(&k, KDBG_KI_PROCESSOR_BLOCK), w.processor_block);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_INITIAL_STACK), 0x28);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_KERNEL_STACK), 0x58);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_STACK_LIMIT), 0x30);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_STACK_BASE), 0x38);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_STATE), 0x184);
    CHECK_EQ(kdbg_get(&k, KDBG_OFF_KTHREAD_APC_PROCESS), 0xB8);
    CHECK_EQ(kdbg_get(&k, KDBG_SIZE_ETHREAD), 0x898);
    uint64_t prcb, th;
    CHECK_EQ(kdbg_prcb(&w.t, &k, 0, &prcb), KD_OK);
    CHECK(prcb != 0);
    CHECK_EQ(kdbg_current_thread(&w.t, &k, 1, &th), KD_OK);
    CHECK_EQ(th, w.cpu_thread[1]);
    CHECK_EQ(kdbg_current_thread(&w.t, &k, 2, &th), KD_ERR_NOTFOUND);
    CHECK_EQ(kdbg_prcb(&w.t, &k, KDBG_MAX_CPUS, &prcb), KD_ERR_ARG);

    /* The encoded form on the target: status and flag, and only the header
     * was read (never the ciphertext body). */
    fake_target_put32(w.ft, w.kdbg + 0x10, 0x12345678);
    fake_target_reset_stats(w.ft);
    CHECK_EQ(kdbg_read(&w.t, &w.v, &k), KD_ERR_FORMAT);
    CHECK(k.encoded);
    CHECK_EQ(k.address, w.kdbg);
    CHECK_EQ(k.owner_tag, 0x12345678);
    CHECK_EQ(fake_target_stats(w.ft)->bytes, 8 + KDBG_HEADER_SIZE);
    fake_world_free(&w);
}

static void test_read_failures(void)
{
    struct fake_world w;
    struct kdbg k;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK(fake_world_build(&w, &lay, 1, 2) == 0);
    struct kd_version v = w.v;
    v.flags &= (uint16_t)~DBGKD_VERS_FLAG_DATA;
    CHECK_EQ(kdbg_read(&w.t, &v, &k), KD_ERR_NOTFOUND);
    v = w.v;
    v.debugger_data_list = 0;
    CHECK_EQ(kdbg_read(&w.t, &v, &k), KD_ERR_NOTFOUND);
    /* An empty list (head points to itself). */
    fake_target_put64(w.ft, w.kdbg_head, w.kdbg_head);
    CHECK_EQ(kdbg_read(&w.t, &w.v, &k), KD_ERR_NOTFOUND);
    /* A Flink that is not a kernel address is never followed. */
    fake_target_put64(w.ft, w.kdbg_head, 0x0000123400000000ull);
    CHECK_EQ(kdbg_read(&w.t, &w.v, &k), KD_ERR_NOTFOUND);
    /* A Flink to unmapped memory: the read error. */
    fake_target_put64(w.ft, w.kdbg_head, 0xFFFFF8FF00000000ull);
    CHECK_EQ(kdbg_read(&w.t, &w.v, &k), KD_ERR_TARGET);
    fake_world_free(&w);
}

int main(void)
{
    RUN(test_decode_every_field);
    RUN(test_truncated_size_respected);
    RUN(test_encoded_block);
    RUN(test_read_from_target);
    RUN(test_read_failures);
    return check_summary("test_monitor_kdbg");
}
