// The one seam to the hardware. Everything that must be fast and device-specific goes
// through these few functions; ops/ call them and never a BLAS or a device API directly.
// A GPU backend implements this same interface (dispatching on Tensor::device()).
#pragma once

#include <cstdint>
#include <string>
#include <functional>

namespace bp::backend {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) is X or X^T.
// op(A) is (m, k), op(B) is (k, n), C is (m, n); lda/ldb/ldc are row strides as stored.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// c (n) = alpha · B a + beta · c for B (n, k) with row stride ldb: the product of one row by a
// transposed matrix, x·Wᵀ with a batch of one, which gemm hands here (cpu_vec.cpp). OpenBLAS's
// sgemm repacks all of W for it on every call (62 µs for a 1024×256 W, against 11 µs streaming
// it once); always on the calling thread, so its result does not depend on the thread count.
void gemv_rows(int64_t n, int64_t k, float alpha, const float* a, const float* b, int64_t ldb, float beta, float* c);

// The obviously-correct triple loop (double accumulation) that the fast gemm is tested against.
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc);

// y[i] = √x[i] for n floats (y may equal x), with the vector square-root instruction: a loop
// that calls std::sqrt cannot be vectorised by the compiler, as std::sqrt must set errno.
void vsqrt(const float* x, float* y, int64_t n);

// y[i] = e^x[i], σ(x[i]) = 1/(1 + e^−x[i]), tanh x[i] for n floats (y may equal x): branch-free
// and vectorised (libm's calls are scalar), within a few ulp of the correctly rounded result
// over the whole float range (cpu_vec.cpp says how; tests/backend/test_vec.cpp measures it).
// They saturate as the functions do (exp to ∞ and to 0 through the subnormals, σ to 0 and 1,
// tanh to ±1), and NaN in gives NaN out.
void vexp(const float* x, float* y, int64_t n);
void vsigmoid(const float* x, float* y, int64_t n);
void vtanh(const float* x, float* y, int64_t n);

// Name of the BLAS in use, for reports ("OpenBLAS 0.3.21 ...").
const char* blas_info();

// What the hardware seam runs on, for `backprop info` and every benchmark's header: speed
// figures mean little without it. This workplace's machines, for one, set OPENBLAS_CORETYPE=Haswell,
// which makes OpenBLAS use its AVX2 kernels on an AVX-512 processor (MLP training 80k instead of
// 134k samples/s; docs/performance.md, "What a benchmark ran").
struct MachineInfo {
  std::string blas;       // blas_info()
  std::string blas_core;  // the kernel set OpenBLAS runs: "Haswell", "SkylakeX", "Cooperlake", ...
  std::string cpu;        // the processor's model name ("" when /proc/cpuinfo does not say)
  std::string cpu_isa;    // its vector extensions that matter here: "avx512f avx512bw ... avx2 fma"
  std::string blas_env;   // OPENBLAS_* variables as set ("OPENBLAS_CORETYPE=Haswell ..."), or ""
  std::string note;       // when the BLAS runs kernels older than the CPU: why, and what to do; else ""
};
MachineInfo machine_info();

// The rule behind MachineInfo::note, apart for tests: a CPU with AVX-512 whose BLAS runs none of
// OpenBLAS's AVX-512 kernel sets (SkylakeX, Cooperlake, SapphireRapids) is worth a sentence,
// naming OPENBLAS_CORETYPE when the environment forces it (`forced_core`: its value, or null).
std::string blas_core_note(const std::string& blas_core, bool cpu_has_avx512, const char* forced_core);

// One line for a benchmark's header: "BLAS core Haswell (OPENBLAS_CORETYPE=Haswell ...); CPU
// AMD EPYC, avx512f ...".
std::string machine_line();

// ---- Threads (thread_pool.cpp): one pool, one rule, one count.
//
// The pool. Worker threads that sleep (block on a condition variable) between jobs: the
// library's only threads besides the BLAS's own. Why not OpenMP regions: libgomp's idle
// threads busy-wait after each region, and on a shared machine they take the core that the
// BLAS's threads, or the other region thread preempted by someone else's process, need next;
// two-thread training then fell 10-40x (docs/performance.md has the measurements).
//
// The count. The backend holds one process-wide thread count, used by the pool and by the
// BLAS alike. A program sets it once at start-up (set_num_threads: the CLI's --threads, a
// benchmark's main); everywhere else it changes only for a scope, through ThreadCount, which
// restores the previous count when the scope ends. No op changes it.
//
// GEMMs inside a job. While a pool job runs, the backend holds the BLAS at one thread (and
// restores it when the job's last task returns): a job's tasks may call gemm, and each task
// already owns a core, so a multi-threaded BLAS inside would oversubscribe them. Ops that
// split a batch of GEMMs over threads just call gemm inside run_threads / parallel_for.

// Sets the program's thread count for the BLAS and the pool; 0 = one per core. For main()
// only; library code uses ThreadCount. Not from inside a pool job.
void set_num_threads(int n);
// The count in force. Before any set_num_threads: what OpenBLAS chose at start-up (from
// OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or the number of cores).
int num_threads();

// Sets the thread count for the lifetime of the guard, then restores the previous one; guards
// nest (each restores what it found). Not from inside a pool job.
//   { backend::ThreadCount one(1); ... }   // serial here, whatever the program set
class ThreadCount {
 public:
  explicit ThreadCount(int n);
  ~ThreadCount();
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// The one "is this worth a thread" rule. Work is counted in values read or written by a
// streaming loop (multiply-adds for a compute-bound one, which only errs towards splitting
// work that is long anyway). Measured on the 2-core machine under load (docs/performance.md):
// a fork/join on the sleeping pool costs 6-7 µs when the worker takes part (a futex wake,
// the other core's scheduling, the join), and a vectorised loop streams about 8 values per
// ns, so 64K values take ~8 µs alone and a split saves at best half of it: below this a
// split gains nothing.
constexpr int64_t kParallelWork = int64_t{1} << 16;
// True iff splitting `work` values pays: more than one thread set, work >= kParallelWork, and
// the caller is not itself a pool job (a nested split runs serially: the cores are taken).
bool parallel_worth(int64_t work);
// True on a thread that is running a pool job's task (the calling thread included).
bool in_pool_job();

// Runs body(t) once for each t = 0..nt−1 and returns when all have: on the calling thread
// and the pool's workers, each task going to whichever thread claims it first (a worker that
// the machine has not scheduled yet delays nothing: the caller runs its tasks). Serially, in
// order, if nt <= 1 or the caller is a pool job. body must not throw, and what body(t)
// computes must not depend on the thread that runs it (thread-local scratch is fine).
// Callers decide nt with parallel_worth; parallel_for does that itself.
void run_threads(int nt, const std::function<void(int)>& body);
// Splits [0, n) into one contiguous range per thread (at most num_threads(), at most n) and
// runs f(begin, end) on each through run_threads, or f(0, n) on the calling thread unless
// parallel_worth(work). The ranges depend on the thread count: give each index work whose
// result does not depend on which range it falls in, and results do not depend on threads.
void parallel_for(int64_t n, int64_t work, const std::function<void(int64_t, int64_t)>& f);

}  // namespace bp::backend
