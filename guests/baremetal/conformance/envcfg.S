/* Environment configuration: menvcfg and senvcfg (privileged spec 3.1.18, 4.1.10).
 *
 * - menvcfg.FIOM (bit 0) and STCE (bit 63, Sstc) are writable; the reserved bits 1-3
 *   and 8-61 read zero. (Bits 4-7 belong to the CMO extensions and bit 62 to Svpbmt:
 *   not checked.)
 * - senvcfg.FIOM is writable, from M- and S-mode; bits 1-3 and 8-63 read zero.
 * - menvcfg is not accessible from S-mode, senvcfg not from U-mode.
 */
#include "test_macros.h"

#define ENVCFG_FIOM 1
#define MENVCFG_STCE (1 << 63)
#define MENVCFG_RESERVED 0x3fffffffffffff0e      /* bits 1-3, 8-61 */
#define SENVCFG_RESERVED 0xffffffffffffff0e      /* bits 1-3, 8-63 */

TEST_BEGIN
    TEST_NUM(1)
    li t0, -1
    csrw menvcfg, t0
    CHECK_CSR_MASK menvcfg, ENVCFG_FIOM | MENVCFG_STCE, ENVCFG_FIOM | MENVCFG_STCE
    CHECK_CSR_MASK menvcfg, MENVCFG_RESERVED, 0
    TEST_NUM(2)
    csrw menvcfg, zero
    CHECK_CSR_MASK menvcfg, ENVCFG_FIOM | MENVCFG_STCE | MENVCFG_RESERVED, 0
    TEST_NUM(3)
    li t0, -1
    csrw senvcfg, t0
    CHECK_CSR_MASK senvcfg, ENVCFG_FIOM, ENVCFG_FIOM
    CHECK_CSR_MASK senvcfg, SENVCFG_RESERVED, 0
    csrw senvcfg, zero
    CHECK_CSR_MASK senvcfg, ENVCFG_FIOM | SENVCFG_RESERVED, 0
    TEST_NUM(4)                          /* S-mode writes senvcfg */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  csrwi senvcfg, ENVCFG_FIOM
    csrr a0, senvcfg
    ecall
2:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_CSR_MASK senvcfg, ENVCFG_FIOM, ENVCFG_FIOM
    andi a0, a0, ENVCFG_FIOM
    CHECK a0, ENVCFG_FIOM
    TEST_NUM(5)                          /* menvcfg from S-mode: illegal */
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  csrr a0, menvcfg
    j fail
4:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 3b
    CHECK_TVAL_INSN
    TEST_NUM(6)                          /* senvcfg from U-mode: illegal */
    RUN_IN 0, 5f, 6f
5:  csrr a0, senvcfg
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 5b
TEST_END
