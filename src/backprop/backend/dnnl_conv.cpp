// oneDNN convolution (dnnl_conv.hpp): forward, backward-data, backward-weights and bias, float32,
// on the library's NCHW tensors. Compiled only when CMake finds oneDNN (BACKPROP_WITH_DNNL).
//
// Layouts: every primitive is created with format "any", so oneDNN picks its blocked layouts
// (nChw16c, OIhw16i16o, ...) where its kernels want them; the user's NCHW / OIHW tensors are
// reordered in and out around each call (a reorder that would copy a layout onto itself is
// skipped). Gradients are added to the caller's buffers by reorders with a sum post-op.
//
// Cache: primitives (and their reorders) are built once per (shape, batch slice, pass, ReLU,
// bias, OpenMP thread count) and kept (up to 256 of them): building one costs 50-500 µs.
// Scratch: each thread keeps its largest reordered tensors and scratchpad, as ops/conv.cpp keeps
// its im2col buffers.
//
// Threads (dnnl_conv.hpp says why): each task of the backend's pool runs oneDNN with one OpenMP
// thread on its slice of the batch, with its own stream and scratch buffers. The OpenMP thread
// count is set per calling thread (an OpenMP per-thread setting) through libgomp's
// omp_set_num_threads, looked up in the process (oneDNN loads its OpenMP runtime), so the
// library itself links no OpenMP.
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"

namespace bp::backend {

namespace {

namespace dn = dnnl;
using tag = dn::memory::format_tag;
using dt = dn::memory::data_type;

bool g_openmp_team = false;  // set_dnnl_openmp_threads

// The engine and the cache below are never destroyed: the pool's threads keep streams and
// scratch until they exit, which may be after static destructors have run.
dn::engine& engine() {
  static auto* e = new dn::engine(dn::engine::kind::cpu, 0);
  return *e;
}
dn::stream& stream() {
  thread_local dn::stream s(engine());
  return s;
}

// The OpenMP runtime's per-thread thread count (omp_get_max_threads / omp_set_num_threads):
// oneDNN sizes its parallel regions by it. Null if the runtime has none (oneDNN not on OpenMP).
using GetFn = int (*)();
using SetFn = void (*)(int);
GetFn omp_get() {
  static GetFn f = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return f;
}
SetFn omp_set() {
  static SetFn f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  return f;
}

// Sets the calling thread's OpenMP count for a scope, then restores it.
class OmpThreads {
 public:
  explicit OmpThreads(int n) {
    if (omp_get() && omp_set()) {
      saved_ = omp_get()();
      if (saved_ != n) omp_set()(n);
    }
  }
  ~OmpThreads() {
    if (saved_ > 0 && omp_get()() != saved_) omp_set()(saved_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_ = 0;
};

// Per-thread scratch, grown as needed and kept (the pool's threads live as long as the process).
// 64-byte aligned, as oneDNN's kernels load whole cache lines.
void* scratch(int slot, size_t bytes) {
  thread_local std::vector<char> buf[8];
  auto& b = buf[slot];
  if (b.size() < bytes + 64) b.resize(bytes + 64);
  const auto p = reinterpret_cast<uintptr_t>(b.data());
  return b.data() + ((64 - p % 64) % 64);
}
enum Slot { kSrc, kWei, kDst, kDy, kDyW, kPad, kMask, kOut };

dn::memory::dims src_dims(const ConvDesc& d, int64_t n) { return {n, d.C, d.H, d.W}; }
dn::memory::dims dst_dims(const ConvDesc& d, int64_t n) { return {n, d.O, d.OH, d.OW}; }
dn::memory::dims wei_dims(const ConvDesc& d) {
  if (d.G == 1) return {d.O, d.C, d.KH, d.KW};
  return {d.G, d.O / d.G, d.C / d.G, d.KH, d.KW};
}
tag wei_tag(const ConvDesc& d) { return d.G == 1 ? tag::oihw : tag::goihw; }

dn::memory::desc any(const dn::memory::dims& dims) { return {dims, dt::f32, tag::any}; }

// A reorder from one layout to another; none when they are the same and nothing is summed.
struct Reorder {
  dn::memory::desc from, to;
  std::unique_ptr<dn::reorder> prim;
  Reorder() = default;
  Reorder(const dn::memory::desc& f, const dn::memory::desc& t, bool sum) : from(f), to(t) {
    if (f == t && !sum) return;
    dn::primitive_attr attr;
    if (sum) {
      dn::post_ops po;
      po.append_sum(1.f);
      attr.set_post_ops(po);
    }
    prim = std::make_unique<dn::reorder>(dn::reorder::primitive_desc(engine(), f, engine(), t, attr));
  }
  // Runs from → to (to must hold `to`'s layout); a no-op when none was needed.
  void run(void* src, void* dst) const {
    if (!prim) return;
    dn::memory a(from, engine(), src), b(to, engine(), dst);
    prim->execute(stream(), a, b);
  }
};

// The primitives of one (shape, batch slice, flags) for all three passes, built on first use.
struct Entry {
  ConvDesc d;  // N is the slice
  bool relu = false, bias = false;
  // forward
  std::unique_ptr<dn::convolution_forward::primitive_desc> fpd;
  std::unique_ptr<dn::convolution_forward> fwd;
  Reorder f_src, f_wei, f_dst;
  // backward data
  std::unique_ptr<dn::convolution_backward_data::primitive_desc> dpd;
  std::unique_ptr<dn::convolution_backward_data> bwd_data;
  Reorder d_dy, d_wei, d_dx_sum;
  // backward weights
  std::unique_ptr<dn::convolution_backward_weights::primitive_desc> wpd;
  std::unique_ptr<dn::convolution_backward_weights> bwd_w;
  Reorder w_src, w_dy, w_dw_sum, w_dw;
};

dn::memory::desc user_src(const ConvDesc& d) { return {src_dims(d, d.N), dt::f32, tag::nchw}; }
dn::memory::desc user_dst(const ConvDesc& d) { return {dst_dims(d, d.N), dt::f32, tag::nchw}; }
dn::memory::desc user_wei(const ConvDesc& d) { return {wei_dims(d), dt::f32, wei_tag(d)}; }

dn::convolution_forward::desc forward_desc(const ConvDesc& d, bool bias) {
  const dn::memory::dims strides{d.sh, d.sw}, dil{d.dh - 1, d.dw - 1}, pad{d.ph, d.pw};
  const auto src = any(src_dims(d, d.N)), wei = any(wei_dims(d)), dst = any(dst_dims(d, d.N));
  const auto alg = dn::algorithm::convolution_direct;
  if (bias)
    return {dn::prop_kind::forward_training, alg, src, wei, dn::memory::desc({d.O}, dt::f32, tag::x), dst, strides,
            dil, pad, pad};
  return {dn::prop_kind::forward_training, alg, src, wei, dst, strides, dil, pad, pad};
}

dn::primitive_attr user_scratchpad() {
  dn::primitive_attr a;
  a.set_scratchpad_mode(dn::scratchpad_mode::user);
  return a;
}

void build_forward(Entry& e) {
  dn::primitive_attr attr = user_scratchpad();
  if (e.relu) {
    dn::post_ops po;
    po.append_eltwise(1.f, dn::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  e.fpd = std::make_unique<dn::convolution_forward::primitive_desc>(forward_desc(e.d, e.bias), attr, engine());
  e.fwd = std::make_unique<dn::convolution_forward>(*e.fpd);
  e.f_src = Reorder(user_src(e.d), e.fpd->src_desc(), false);
  e.f_wei = Reorder(user_wei(e.d), e.fpd->weights_desc(), false);
  e.f_dst = Reorder(e.fpd->dst_desc(), user_dst(e.d), false);
}

void build_backward_data(Entry& e) {
  const ConvDesc& d = e.d;
  const dn::memory::dims strides{d.sh, d.sw}, dil{d.dh - 1, d.dw - 1}, pad{d.ph, d.pw};
  const dn::convolution_forward::primitive_desc hint(forward_desc(d, false), user_scratchpad(), engine());
  dn::convolution_backward_data::desc bd(dn::algorithm::convolution_direct, any(src_dims(d, d.N)), any(wei_dims(d)),
                                         any(dst_dims(d, d.N)), strides, dil, pad, pad);
  e.dpd = std::make_unique<dn::convolution_backward_data::primitive_desc>(bd, user_scratchpad(), engine(), hint);
  e.bwd_data = std::make_unique<dn::convolution_backward_data>(*e.dpd);
  e.d_dy = Reorder(user_dst(d), e.dpd->diff_dst_desc(), false);
  e.d_wei = Reorder(user_wei(d), e.dpd->weights_desc(), false);
  e.d_dx_sum = Reorder(e.dpd->diff_src_desc(), user_src(d), true);
}

void build_backward_weights(Entry& e) {
  const ConvDesc& d = e.d;
  const dn::memory::dims strides{d.sh, d.sw}, dil{d.dh - 1, d.dw - 1}, pad{d.ph, d.pw};
  const dn::convolution_forward::primitive_desc hint(forward_desc(d, e.bias), user_scratchpad(), engine());
  const auto alg = dn::algorithm::convolution_direct;
  const auto src = any(src_dims(d, d.N)), wei = any(wei_dims(d)), dst = any(dst_dims(d, d.N));
  auto wd = e.bias ? dn::convolution_backward_weights::desc(alg, src, wei, dn::memory::desc({d.O}, dt::f32, tag::x), dst,
                                                            strides, dil, pad, pad)
                   : dn::convolution_backward_weights::desc(alg, src, wei, dst, strides, dil, pad, pad);
  e.wpd = std::make_unique<dn::convolution_backward_weights::primitive_desc>(wd, user_scratchpad(), engine(), hint);
  e.bwd_w = std::make_unique<dn::convolution_backward_weights>(*e.wpd);
  e.w_src = Reorder(user_src(d), e.wpd->src_desc(), false);
  e.w_dy = Reorder(user_dst(d), e.wpd->diff_dst_desc(), false);
  e.w_dw_sum = Reorder(e.wpd->diff_weights_desc(), user_wei(d), true);
  e.w_dw = Reorder(e.wpd->diff_weights_desc(), user_wei(d), false);
}

enum Pass { kForward, kBackwardData, kBackwardWeights };

// The cache: one Entry per key, built under the lock on first use. A program that sees many
// batch sizes (each a key) would grow it without end: past kMaxEntries it is emptied, and a
// caller still running an entry keeps it alive through its shared_ptr.
constexpr size_t kMaxEntries = 256;
std::shared_ptr<Entry> entry(const ConvDesc& d, Pass pass, bool relu, bool bias, int omp_threads) {
  static std::mutex m;
  static auto& cache = *new std::map<std::vector<int64_t>, std::shared_ptr<Entry>>;
  const std::vector<int64_t> key{d.N,  d.C,  d.H,  d.W,  d.O,  d.KH, d.KW, d.OH, d.OW,           d.G,       d.sh,
                                 d.sw, d.ph, d.pw, d.dh, d.dw, pass, relu, bias, omp_threads};
  std::lock_guard<std::mutex> lk(m);
  if (cache.size() >= kMaxEntries && cache.find(key) == cache.end()) cache.clear();
  auto& slot = cache[key];
  if (!slot) {
    auto e = std::make_shared<Entry>();
    e->d = d;
    e->relu = relu;
    e->bias = bias;
    if (pass == kForward) build_forward(*e);
    else if (pass == kBackwardData) build_backward_data(*e);
    else build_backward_weights(*e);
    slot = std::move(e);
  }
  return slot;
}

// A buffer holding `md`: the user's pointer when no reorder is needed, else scratch.
void* place(const Reorder& r, const dn::memory::desc& md, int slot, void* user) {
  return r.prim ? scratch(slot, md.get_size()) : user;
}

void* scratchpad(const dn::primitive_desc_base& pd) { return scratch(kPad, pd.scratchpad_desc().get_size()); }

// The batch split: as ops/conv.cpp's, one contiguous slice per thread when the convolution's
// multiply-adds are worth it; with the OpenMP team (benchmarks) oneDNN splits it itself.
int slices(const ConvDesc& d) {
  if (g_openmp_team) return 1;
  const int64_t work = d.N * d.O * d.OH * d.OW * (d.C / d.G) * d.KH * d.KW;
  if (!parallel_worth(work)) return 1;
  return static_cast<int>(std::clamp<int64_t>(num_threads(), 1, std::max<int64_t>(d.N, 1)));
}
int omp_count() { return g_openmp_team ? std::max(num_threads(), 1) : 1; }

ConvDesc slice_of(const ConvDesc& d, int64_t n0, int64_t n1) {
  ConvDesc s = d;
  s.N = n1 - n0;
  return s;
}

// Runs body(n0, n1, t) on the batch's slices, each under its OpenMP count.
template <class F>
void for_slices(const ConvDesc& d, int nt, F&& body) {
  const int omp = omp_count();
  run_threads(nt, [&](int t) {
    OmpThreads threads(omp);
    body(d.N * t / nt, d.N * (t + 1) / nt, t);
  });
}

}  // namespace

void set_dnnl_openmp_threads(bool on) { g_openmp_team = on; }

void dnnl_conv_forward(const ConvDesc& d, const float* x, const float* w, const float* bias, bool relu, float* y) {
  const int64_t xs = d.C * d.H * d.W, ys = d.O * d.OH * d.OW;
  for_slices(d, slices(d), [&](int64_t n0, int64_t n1, int) {
    if (n1 <= n0) return;
    const auto held = entry(slice_of(d, n0, n1), kForward, relu, bias != nullptr, omp_count());
    Entry& e = *held;
    auto* xu = const_cast<float*>(x + n0 * xs);
    auto* wu = const_cast<float*>(w);
    float* yu = y + n0 * ys;
    void* src = place(e.f_src, e.fpd->src_desc(), kSrc, xu);
    void* wei = place(e.f_wei, e.fpd->weights_desc(), kWei, wu);
    void* dst = place(e.f_dst, e.fpd->dst_desc(), kDst, yu);
    e.f_src.run(xu, src);
    e.f_wei.run(wu, wei);
    std::unordered_map<int, dn::memory> args{
        {DNNL_ARG_SRC, dn::memory(e.fpd->src_desc(), engine(), src)},
        {DNNL_ARG_WEIGHTS, dn::memory(e.fpd->weights_desc(), engine(), wei)},
        {DNNL_ARG_DST, dn::memory(e.fpd->dst_desc(), engine(), dst)},
        {DNNL_ARG_SCRATCHPAD, dn::memory(e.fpd->scratchpad_desc(), engine(), scratchpad(*e.fpd))}};
    if (bias) args.emplace(DNNL_ARG_BIAS, dn::memory(e.fpd->bias_desc(), engine(), const_cast<float*>(bias)));
    e.fwd->execute(stream(), args);
    e.f_dst.run(dst, yu);
    stream().wait();
  });
}

void dnnl_conv_backward(const ConvDesc& d, const float* x, const float* w, const float* dy, const float* relu_y,
                        float* dx, float* dw, float* db) {
  if (!dx && !dw && !db) return;
  const int64_t xs = d.C * d.H * d.W, ys = d.O * d.OH * d.OW;
  const int64_t wsize = d.O * (d.C / d.G) * d.KH * d.KW;
  const int nt = slices(d);
  // Slices 1.. put their weight and bias gradients here, (nt − 1) × (wsize + O); slice 0 adds
  // straight into dw and db. Summed in slice order at the end.
  std::vector<float> partial(dw || db ? static_cast<size_t>((nt - 1) * (wsize + d.O)) : 0, 0.f);
  for_slices(d, nt, [&](int64_t n0, int64_t n1, int t) {
    if (n1 <= n0) return;
    const ConvDesc s = slice_of(d, n0, n1);
    // This slice's output gradient (n, O, OH, OW), masked by y > 0 when the forward fused a ReLU.
    auto* dyu = const_cast<float*>(dy + n0 * ys);
    if (relu_y) {
      auto* m = static_cast<float*>(scratch(kMask, sizeof(float) * s.N * ys));
      const float* yv = relu_y + n0 * ys;
      for (int64_t i = 0; i < s.N * ys; ++i) m[i] = yv[i] > 0.f ? dyu[i] : 0.f;
      dyu = m;
    }
    if (dx) {
      const auto held = entry(s, kBackwardData, false, false, omp_count());
      Entry& e = *held;
      auto* wu = const_cast<float*>(w);
      void* ddst = place(e.d_dy, e.dpd->diff_dst_desc(), kDy, dyu);
      void* wei = place(e.d_wei, e.dpd->weights_desc(), kWei, wu);
      void* dsrc = scratch(kOut, e.dpd->diff_src_desc().get_size());
      e.d_dy.run(dyu, ddst);
      e.d_wei.run(wu, wei);
      e.bwd_data->execute(stream(), {{DNNL_ARG_DIFF_DST, dn::memory(e.dpd->diff_dst_desc(), engine(), ddst)},
                                     {DNNL_ARG_WEIGHTS, dn::memory(e.dpd->weights_desc(), engine(), wei)},
                                     {DNNL_ARG_DIFF_SRC, dn::memory(e.dpd->diff_src_desc(), engine(), dsrc)},
                                     {DNNL_ARG_SCRATCHPAD, dn::memory(e.dpd->scratchpad_desc(), engine(),
                                                                      scratchpad(*e.dpd))}});
      e.d_dx_sum.run(dsrc, dx + n0 * xs);  // dx += diff_src, in NCHW
    }
    if (dw || db) {
      const auto held = entry(s, kBackwardWeights, false, db != nullptr, omp_count());
      Entry& e = *held;
      auto* xu = const_cast<float*>(x + n0 * xs);
      void* src = place(e.w_src, e.wpd->src_desc(), kSrc, xu);
      void* ddst = place(e.w_dy, e.wpd->diff_dst_desc(), kDyW, dyu);
      void* dwei = scratch(kOut, e.wpd->diff_weights_desc().get_size());
      float* dbias = db ? static_cast<float*>(scratch(kWei, sizeof(float) * d.O)) : nullptr;
      e.w_src.run(xu, src);
      e.w_dy.run(dyu, ddst);
      std::unordered_map<int, dn::memory> args{
          {DNNL_ARG_SRC, dn::memory(e.wpd->src_desc(), engine(), src)},
          {DNNL_ARG_DIFF_DST, dn::memory(e.wpd->diff_dst_desc(), engine(), ddst)},
          {DNNL_ARG_DIFF_WEIGHTS, dn::memory(e.wpd->diff_weights_desc(), engine(), dwei)},
          {DNNL_ARG_SCRATCHPAD, dn::memory(e.wpd->scratchpad_desc(), engine(), scratchpad(*e.wpd))}};
      if (db) args.emplace(DNNL_ARG_DIFF_BIAS, dn::memory(e.wpd->diff_bias_desc(), engine(), dbias));
      e.bwd_w->execute(stream(), args);
      float* part = t == 0 ? nullptr : partial.data() + (t - 1) * (wsize + d.O);
      if (dw) {
        if (t == 0) {
          e.w_dw_sum.run(dwei, dw);  // dw += this slice's gradient, in OIHW
        } else if (e.w_dw.prim) {
          e.w_dw.run(dwei, part);
        } else {
          std::memcpy(part, dwei, sizeof(float) * wsize);
        }
      }
      if (db) {
        float* to = t == 0 ? db : part + wsize;
        for (int64_t o = 0; o < d.O; ++o) to[o] = t == 0 ? to[o] + dbias[o] : dbias[o];
      }
    }
    stream().wait();
  });
  for (int t = 1; t < nt; ++t) {
    const float* part = partial.data() + (t - 1) * (wsize + d.O);
    if (dw)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += part[i];
    if (db)
      for (int64_t o = 0; o < d.O; ++o) db[o] += part[wsize + o];
  }
}

bool dnnl_available() { return true; }

std::string dnnl_info() {
  const dnnl_version_t* v = dnnl_version();
  const char* rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                   : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                   : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                   : v->cpu_runtime == DNNL_RUNTIME_THREADPOOL ? "threadpool"
                                                                : "other";
  const char* isa = "?";
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: isa = "sse41"; break;
    case dnnl_cpu_isa_avx: isa = "avx"; break;
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (" + rt + " runtime, ISA " + isa + ")";
}

}  // namespace bp::backend
