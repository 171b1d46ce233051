/**
 * The bare-metal AArch64 guest of the QEMU peer benchmark (qemu-peer.bench), as GNU assembler source for the
 * Debian aarch64 binutils. It runs on QEMU's `virt` board with its own GICv3 model (Arm IHI 0069): distributor at
 * 0x08000000 (ARE, both groups enabled), redistributors from 0x080A0000 (GICR_WAKER, SGI 1 in group 1 and
 * enabled), the system-register CPU interface (ICC_SRE/PMR/IGRPEN1_EL1; ICC_IAR1_EL1 and ICC_EOIR1_EL1 in the
 * vector), and for the LPI shape the ITS at 0x08080000 (GITS_BASER0/1 device and collection tables, GITS_CBASER
 * command queue, MAPD/MAPC/MAPTI/SYNC, then one INT command per LPI; GICR_PROPBASER/PENDBASER and
 * GICR_CTLR.EnableLPIs). Secondary CPUs start with PSCI CPU_ON, the guest ends with PSCI SYSTEM_OFF (both over
 * HVC, the virt board's conduit without EL2/EL3), and reports over the PL011 UART at 0x09000000:
 *
 *     IRQFLOW-PEER count=<hex> ticks=<hex> freq=<hex>
 *
 * count = interrupts acknowledged and completed, ticks = CNTVCT_EL0 between the first send and the last
 * completion (QEMU's virtual counter follows host time without -icount), freq = CNTFRQ_EL0.
 *
 * Assembled with `--defsym SHAPE=0` (SGI ping-pong: CPU 0 and CPU 1 send SGI 1 to each other, N in total) or
 * `SHAPE=1` (one CPU, N LPIs 8192 each raised by an ITS INT command from the previous one's handler), `--defsym N=`.
 *
 * @module
 */

/** The guest's assembler source (see the module comment). */
export const QEMU_GUEST_ASM = String.raw`// SHAPE=0: SGI ping-pong between 2 CPUs; SHAPE=1: LPI via ITS INT on 1 CPU. N = interrupts to count.
.equ GICD, 0x08000000
.equ GITS, 0x08080000
.equ GICR, 0x080A0000
.equ UART, 0x09000000
.equ STACK0, 0x40400000
.equ STACK1, 0x40410000
.equ DT,    0x40500000
.equ CT,    0x40510000
.equ CMDQ,  0x40520000
.equ ITT,   0x40530000
.equ PROP,  0x40540000
.equ PEND,  0x40560000
.equ VARS,  0x40600000
// VARS offsets
.equ V_COUNT0, 0
.equ V_COUNT1, 8
.equ V_DONE, 16
.equ V_READY, 24

.text
.global _start
_start:
    ldr x0, =STACK0
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    // distributor: ARE | EnableGrp1 | EnableGrp0
    ldr x0, =GICD
    mov w1, #0x13
    str w1, [x0]
1:  ldr w1, [x0]
    tbnz w1, #31, 1b
    mov x0, #0
    bl rdist_init
    bl cpuif_init
.if SHAPE == 0
    // start CPU 1 (PSCI CPU_ON over HVC)
    ldr x0, =0xC4000003
    mov x1, #1
    adr x2, secondary
    mov x3, #0
    hvc #0
    cbnz x0, fail
    ldr x1, =VARS
2:  ldr x2, [x1, #V_READY]
    cbz x2, 2b
    msr daifclr, #2
    isb
    mrs x19, cntvct_el0
    ldr x0, =0x1000002        // SGI 1 to Aff0=1
    msr icc_sgi1r_el1, x0
    isb
.else
    bl its_init
    msr daifclr, #2
    isb
    mrs x19, cntvct_el0
    bl send_int
.endif
    ldr x1, =VARS
3:  msr daifset, #2           // idle: test the flag with IRQs masked, WFI wakes on a pending one anyway
    ldr x2, [x1, #V_DONE]
    cbnz x2, 4f
    wfi
    msr daifclr, #2
    isb
    b 3b
4:  isb
    mrs x20, cntvct_el0
    // report
    adr x0, msg_count
    bl puts
    ldr x1, =VARS
    ldr x0, [x1, #V_COUNT0]
    ldr x2, [x1, #V_COUNT1]
    add x0, x0, x2
    bl puthex
    adr x0, msg_ticks
    bl puts
    sub x0, x20, x19
    bl puthex
    adr x0, msg_freq
    bl puts
    mrs x0, cntfrq_el0
    bl puthex
    mov x0, #10
    bl putc
off:
    ldr x0, =0x84000008       // PSCI SYSTEM_OFF
    hvc #0
    b off

fail:
    adr x0, msg_fail
    bl puts
    b off

secondary:
    ldr x0, =STACK1
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    mov x0, #1
    bl rdist_init
    bl cpuif_init
    ldr x1, =VARS
    mov x2, #1
    str x2, [x1, #V_READY]
    dsb sy
    msr daifclr, #2
4:  wfi
    b 4b

// x0 = CPU number: wake its redistributor, SGI 1 group 1 and enabled
rdist_init:
    ldr x1, =GICR
    lsl x2, x0, #17
    add x1, x1, x2
    ldr w2, [x1, #0x14]
    bic w2, w2, #2
    str w2, [x1, #0x14]
1:  ldr w2, [x1, #0x14]
    tbnz w2, #2, 1b
    add x3, x1, #0x10000
    mov w2, #-1
    str w2, [x3, #0x80]       // GICR_IGROUPR0
    mov w2, #2
    str w2, [x3, #0x100]      // GICR_ISENABLER0: SGI 1
    ret

cpuif_init:
    mrs x1, icc_sre_el1
    orr x1, x1, #7
    msr icc_sre_el1, x1
    isb
    mov x1, #0xff
    msr icc_pmr_el1, x1
    mov x1, #1
    msr icc_igrpen1_el1, x1
    isb
    ret

.if SHAPE == 1
// LPIs on CPU 0's redistributor, the ITS tables and command queue, MAPD/MAPC/MAPTI/SYNC
its_init:
    stp x29, x30, [sp, #-16]!
    ldr x0, =GICR
    ldr x1, =(PROP | 13)      // IDbits = 13: INTIDs up to 16383
    str x1, [x0, #0x70]
    ldr x1, =PEND
    str x1, [x0, #0x78]
    ldr x2, =PROP
    mov w1, #0xa1             // LPI 8192: priority 0xa0, enabled
    strb w1, [x2]
    ldr w1, [x0]
    orr w1, w1, #1            // GICR_CTLR.EnableLPIs
    str w1, [x0]
    ldr x21, =GITS
    ldr x22, =CMDQ
    mov x20, #0
    ldr x1, =(DT | (1 << 63))
    str x1, [x21, #0x100]     // GITS_BASER0: device table, 1 page
    ldr x1, =(CT | (1 << 63))
    str x1, [x21, #0x108]     // GITS_BASER1: collection table, 1 page
    ldr x1, =(CMDQ | (1 << 63))
    str x1, [x21, #0x80]      // GITS_CBASER: 1 page (128 commands)
    str xzr, [x21, #0x88]     // GITS_CWRITER
    mov w1, #1
    str w1, [x21]             // GITS_CTLR.Enabled
    ldr x1, [x21, #8]         // GITS_TYPER.PTA: RDbase is an address or a processor number
    mov x23, #0
    tbz x1, #19, 1f
    ldr x23, =(GICR >> 16)
1:  lsl x23, x23, #16
    // MAPD DeviceID 0, 1 EventID bit, ITT, valid
    mov x0, #0x08
    mov x1, #0
    ldr x2, =(ITT | (1 << 63))
    bl cmd_put
    // MAPC ICID 0 -> this CPU, valid
    mov x0, #0x09
    mov x1, #0
    orr x2, x23, #(1 << 63)
    bl cmd_put
    // MAPTI DeviceID 0 EventID 0 -> LPI 8192, ICID 0
    mov x0, #0x0a
    mov x1, #8192
    lsl x1, x1, #32
    mov x2, #0
    bl cmd_put
    // SYNC
    mov x0, #0x05
    mov x1, #0
    mov x2, x23
    bl cmd_put
2:  ldr x1, [x21, #0x90]      // GITS_CREADR
    cmp x1, x20
    b.ne 2b
    ldp x29, x30, [sp], #16
    ret

// INT DeviceID 0 EventID 0
send_int:
    mov x0, #0x03
    mov x1, #0
    mov x2, #0
    // fall through
// one command: x0 = DW0, x1 = DW1, x2 = DW2 (DW3 = 0) at CWRITER, then advance CWRITER
cmd_put:
    add x3, x22, x20
    stp x0, x1, [x3]
    stp x2, xzr, [x3, #16]
    dsb sy
    add x20, x20, #32
    and x20, x20, #0xfff
    str x20, [x21, #0x88]
    ret
.endif

// IRQ: acknowledge, EOI, count; CPU 0 sends the next SGI (or INT command) until N, CPU 1 returns the SGI
irq:
    stp x0, x1, [sp, #-16]!
    stp x2, x3, [sp, #-16]!
    stp x29, x30, [sp, #-16]!
    mrs x0, icc_iar1_el1
    cmp x0, #1023
    b.eq 9f
    msr icc_eoir1_el1, x0
    ldr x2, =VARS
    mrs x1, mpidr_el1
    and x1, x1, #0xff
    cbnz x1, 5f
    ldr x3, [x2, #V_COUNT0]
    add x3, x3, #1
    str x3, [x2, #V_COUNT0]
.if SHAPE == 0
    ldr x1, =(N / 2)
.else
    ldr x1, =N
.endif
    cmp x3, x1
    b.hs 6f
.if SHAPE == 0
    ldr x0, =0x1000002        // SGI 1 to CPU 1
    msr icc_sgi1r_el1, x0
.else
    bl send_int
.endif
    b 9f
6:  mov x3, #1
    str x3, [x2, #V_DONE]
    b 9f
5:  ldr x3, [x2, #V_COUNT1]
    add x3, x3, #1
    str x3, [x2, #V_COUNT1]
    ldr x0, =0x1000001        // SGI 1 to CPU 0
    msr icc_sgi1r_el1, x0
9:  isb
    ldp x29, x30, [sp], #16
    ldp x2, x3, [sp], #16
    ldp x0, x1, [sp], #16
    eret

unexpected:
    adr x0, msg_exc
    bl puts
    b off

putc:
    ldr x9, =UART
1:  ldr w10, [x9, #0x18]      // UARTFR.TXFF
    tbnz w10, #5, 1b
    strb w0, [x9]
    ret

puts:
    mov x11, x30
    mov x12, x0
1:  ldrb w0, [x12], #1
    cbz w0, 2f
    bl putc
    b 1b
2:  mov x30, x11
    ret

puthex:
    mov x11, x30
    mov x12, x0
    mov x13, #60
1:  lsr x0, x12, x13
    and x0, x0, #0xf
    cmp x0, #10
    add x14, x0, #'0'
    add x15, x0, #('a' - 10)
    csel x0, x14, x15, lo
    bl putc
    subs x13, x13, #4
    b.ge 1b
    mov x30, x11
    ret

msg_count: .asciz "IRQFLOW-PEER count="
msg_ticks: .asciz " ticks="
msg_freq:  .asciz " freq="
msg_fail:  .asciz "IRQFLOW-PEER error: CPU_ON failed\n"
msg_exc:   .asciz "IRQFLOW-PEER error: unexpected exception\n"
.ltorg

.balign 2048
vectors:                      // VBAR_EL1: 16 entries of 128 bytes
    b unexpected              // current EL, SP0: synchronous
    .balign 128
    b irq                     // current EL, SP0: IRQ
.rept 3
    .balign 128
    b unexpected
.endr
    .balign 128
    b irq                     // current EL, SPx: IRQ
.rept 10
    .balign 128
    b unexpected
.endr
`;
