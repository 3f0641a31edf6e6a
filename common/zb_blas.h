/* zb_blas: which kernels OpenBLAS runs, settled at start-up.
 *
 * Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) chooses its kernels by CPU model when the library is
 * loaded. On a CPU newer than itself (e.g. this workplace's 2023+ Xeons) it falls back to its oldest
 * x86-64 kernels, "Prescott" (SSE3): fp32 then runs 3-4x slower than with the AVX-512 ("SkylakeX")
 * or AVX2 ("Haswell") kernels the CPU can run (bench_sgemm, MiniLM layer shapes, 1 thread: Prescott
 * 29, Haswell 77, SkylakeX 109 GFLOP/s). OpenBLAS reads OPENBLAS_CORETYPE only when it is loaded, so
 * the remedy is to start the program again with it set, before anything else has happened.
 *
 *   int main(int argc, char **argv) { zb_blas_check_core(argv); ... }
 */
#ifndef ZB_BLAS_H
#define ZB_BLAS_H

/* When OPENBLAS_CORETYPE is unset and OpenBLAS fell back to Prescott on a CPU that runs AVX-512
 * (AVX2 + FMA), sets OPENBLAS_CORETYPE=SkylakeX (Haswell) and execs this program again with the
 * same arguments; the first thing in main, before threads or sockets exist. Returns when there is
 * nothing to do, when ZEMBED_BLAS_CORE=keep, or when the exec failed (said once on stderr). A core
 * type the user set is never changed. */
void zb_blas_check_core(char **argv);

/* OpenBLAS's kernel family, e.g. "SkylakeX" (for info and logs). */
const char *zb_blas_core(void);

#endif
