#include "backprop/nn/quantized.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "backprop/backend/qgemm.hpp"
#include "backprop/nn/conv.hpp"

namespace bp::nn {

using nlohmann::json;

QuantDtype quant_dtype_from_string(const std::string& s) {
  if (s == "bf16") return QuantDtype::BF16;
  if (s == "int8") return QuantDtype::Int8;
  throw std::invalid_argument("unknown quantized type '" + s + "' (choose bf16 or int8)");
}

std::string to_string(QuantDtype d) { return d == QuantDtype::BF16 ? "bf16" : "int8"; }

// One layer. Linear and Conv hold packed weights; Float holds a parameterless module (an
// activation, a pooling, a reshape) run as is.
struct QuantizedNet::Stage {
  enum class Kind { Linear, Conv, Float } kind = Kind::Float;
  int64_t in = 0, out = 0;                   // features (linear) or channels (conv)
  int64_t kernel = 1, stride = 1, padding = 0;  // conv
  bool relu = false;                         // fused ReLU after the bias
  backend::PackedBf16 wb;                    // bf16 weights, (out, in·k·k) packed
  backend::PackedInt8 wi;                    // int8 weights, (out, in·k·k) packed
  std::vector<float> bias;                   // (out); zeros when the layer had none
  std::vector<float> wscale;                 // int8: (out) per-channel weight scales
  float a_scale = 1.f;                       // int8: the input's scale and zero point
  int32_t a_zero = 0;
  std::vector<float> oscale;                 // int8: (out) a_scale · wscale, the product's scale
  std::unique_ptr<Module> module;            // Float
  int64_t patch() const { return in * kernel * kernel; }
};

// Buffers reused across calls: one row's worth grows to the largest batch seen.
struct QuantizedNet::Scratch {
  std::vector<uint8_t> qa, qpad;
  std::vector<uint16_t> ba, bpad;
  std::vector<int32_t> acc;
  std::vector<float> f0, f1;
};

QuantizedNet::QuantizedNet() : scratch_(std::make_unique<Scratch>()) { training_ = false; }
QuantizedNet::~QuantizedNet() = default;

namespace {

using Stage = QuantizedNet::Stage;

template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// The input range kept: [lo, hi] over the values, or clipped at the given percentiles.
std::pair<float, float> value_range(const Tensor& x, double percentile) {
  const float* p = x.data();
  const int64_t n = x.numel();
  if (n == 0) return {0.f, 0.f};
  if (percentile >= 100.0) {
    const auto [mn, mx] = std::minmax_element(p, p + n);
    return {*mn, *mx};
  }
  std::vector<float> v(p, p + n);
  const auto at = [&](double q) {
    const auto k = static_cast<size_t>(std::clamp(q / 100.0 * static_cast<double>(n - 1), 0.0, static_cast<double>(n - 1)));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  const float hi = at(percentile), lo = at(100.0 - percentile);
  return {lo, hi};
}

// Affine u8 quantization of [lo, hi] (widened to hold 0, so that zero — padding, a ReLU's
// output — is exact): scale = (hi − lo) / 255, zero = round(−lo / scale).
void set_input_quant(Stage& s, float lo, float hi) {
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  if (!(hi > lo)) {
    s.a_scale = 1.f;
    s.a_zero = 0;
    return;
  }
  s.a_scale = (hi - lo) / 255.f;
  s.a_zero = static_cast<int32_t>(std::clamp(std::lround(-lo / s.a_scale), 0L, 255L));
}

void finish_int8(Stage& s) {
  s.oscale.resize(static_cast<size_t>(s.out));
  for (int64_t j = 0; j < s.out; ++j) s.oscale[static_cast<size_t>(j)] = s.a_scale * s.wscale[static_cast<size_t>(j)];
}

// Per-channel symmetric int8: scale_j = max_p |w_jp| / 127, q = round(w / scale_j).
void pack_weights(Stage& s, QuantDtype dt, const float* w) {
  const int64_t k = s.patch();
  if (dt == QuantDtype::BF16) {
    s.wb = backend::pack_bf16(w, s.out, k);
    return;
  }
  std::vector<int8_t> q(static_cast<size_t>(s.out * k));
  s.wscale.assign(static_cast<size_t>(s.out), 1.f);
  for (int64_t j = 0; j < s.out; ++j) {
    float m = 0.f;
    for (int64_t p = 0; p < k; ++p) m = std::max(m, std::fabs(w[j * k + p]));
    const float sc = m > 0.f ? m / 127.f : 1.f;
    s.wscale[static_cast<size_t>(j)] = sc;
    for (int64_t p = 0; p < k; ++p)
      q[static_cast<size_t>(j * k + p)] =
          static_cast<int8_t>(std::clamp(std::lround(w[j * k + p] / sc), -127L, 127L));
  }
  s.wi = backend::pack_int8(q.data(), s.out, k);
}

const std::set<std::string>& float_types() {
  static const std::set<std::string> t = {"activation", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
                                          "reshape",    "flatten",    "dropout"};
  return t;
}

// The module's layers in order, nested sequentials opened.
void flatten_layers(Module& m, std::vector<Module*>& out) {
  if (auto* seq = dynamic_cast<Sequential*>(&m)) {
    for (size_t i = 0; i < seq->size(); ++i) flatten_layers((*seq)[i], out);
    return;
  }
  out.push_back(&m);
}

std::unique_ptr<Module> float_module(const json& cfg) {
  Rng rng(0);
  auto m = module_from_config(cfg, rng);
  if (!m->parameters().empty() || !m->buffers().empty())
    throw std::invalid_argument("a '" + m->type() + "' layer has weights; it cannot run as a float stage");
  m->set_training(false);
  return m;
}

// The epilogue: bias, scale (int8), ReLU, into y (rows, out) with row stride ldy.
void epilogue_f(const Stage& s, const float* acc, int64_t rows, float* y, int64_t ldy) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* a = acc + i * s.out;
    float* yr = y + i * ldy;
    const float* b = s.bias.data();
    if (s.relu) {
#pragma omp simd
      for (int64_t j = 0; j < s.out; ++j) yr[j] = std::max(a[j] + b[j], 0.f);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < s.out; ++j) yr[j] = a[j] + b[j];
    }
  }
}

void epilogue_i(const Stage& s, const int32_t* acc, int64_t rows, float* y, int64_t ldy) {
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t* a = acc + i * s.out;
    float* yr = y + i * ldy;
    const float* b = s.bias.data();
    const float* sc = s.oscale.data();
    if (s.relu) {
#pragma omp simd
      for (int64_t j = 0; j < s.out; ++j) yr[j] = std::max(static_cast<float>(a[j]) * sc[j] + b[j], 0.f);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < s.out; ++j) yr[j] = static_cast<float>(a[j]) * sc[j] + b[j];
    }
  }
}

constexpr size_t kSlack = 16;  // bytes (or more) after im2col's source and destination

// im2col of one image (in, h, w) of codes into rows of one output pixel's patch, (oh·ow, kp),
// the patch's tail and the padding filled with `pad` (the code of 0.0). The image is first
// copied into a padded one, so that every patch row is a run of k codes without bounds checks.
template <class T>
void im2col(const T* img, const Stage& s, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kp, T pad,
            std::vector<T>& padded, T* cols) {
  const int64_t k = s.kernel, st = s.stride, hp = h + 2 * s.padding, wp = w + 2 * s.padding;
  const T* src = img;
  if (s.padding > 0) {
    padded.assign(static_cast<size_t>(s.in * hp * wp) + kSlack, pad);
    for (int64_t c = 0; c < s.in; ++c)
      for (int64_t yy = 0; yy < h; ++yy)
        std::memcpy(padded.data() + (c * hp + yy + s.padding) * wp + s.padding, img + (c * h + yy) * w,
                    sizeof(T) * static_cast<size_t>(w));
    src = padded.data();
  }
  const int64_t kk = s.in * k * k;
  // A run of k codes is copied as whole 8-byte words, which may spill up to 7 bytes past it
  // (read from the source, written into the next run or the patch's tail, both written after):
  // callers leave kSlack bytes after the source and after `cols`.
  const size_t run = sizeof(T) * static_cast<size_t>(k), words = (run + 7) / 8;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      T* dst = cols + (oy * ow + ox) * kp;
      for (int64_t c = 0; c < s.in; ++c)
        for (int64_t ky = 0; ky < k; ++ky) {
          const auto* row = reinterpret_cast<const unsigned char*>(src + (c * hp + oy * st + ky) * wp + ox * st);
          auto* out = reinterpret_cast<unsigned char*>(dst);
          for (size_t q = 0; q < words; ++q) {
            uint64_t v;
            std::memcpy(&v, row + 8 * q, 8);
            std::memcpy(out + 8 * q, &v, 8);
          }
          dst += k;
        }
      for (int64_t p = kk; p < kp; ++p) *dst++ = pad;
    }
}

void check_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw std::invalid_argument("the input holds NaN or infinite values; a quantized network cannot take them");
}

}  // namespace

std::unique_ptr<QuantizedNet> QuantizedNet::quantize(Module& model, const QuantizeOptions& o) {
  const bool int8 = o.dtype == QuantDtype::Int8;
  if (!(o.percentile > 50.0 && o.percentile <= 100.0))
    throw std::invalid_argument("the calibration percentile must be in (50, 100], got " + std::to_string(o.percentile));
  Tensor x;
  if (int8) {
    if (!o.calibration.defined() || o.calibration.ndim() < 2 || o.calibration.dim(0) < 1)
      throw std::invalid_argument("int8 quantization needs calibration rows (a sample of training data)");
    if (!o.calibration.all_finite()) throw std::invalid_argument("the calibration rows hold NaN or infinite values");
    x = o.calibration;
  }
  std::unique_ptr<QuantizedNet> q(new QuantizedNet());
  q->dtype_ = o.dtype;
  q->source_ = model.config();
  std::vector<Module*> layers;
  flatten_layers(model, layers);
  autograd::NoGradGuard ng;
  // Eval mode for the calibration pass (dropout off); restored after.
  const bool was_training = model.training();
  model.set_training(false);
  struct Restore {
    Module& m;
    bool on;
    ~Restore() { m.set_training(on); }
  } restore{model, was_training};
  for (size_t li = 0; li < layers.size(); ++li) {
    Module& m = *layers[li];
    auto s = std::make_unique<Stage>();
    const float* w = nullptr;
    Var bias;
    Act act = Act::Identity;
    if (auto* lin = dynamic_cast<Linear*>(&m)) {
      s->kind = Stage::Kind::Linear;
      s->in = lin->in_features();
      s->out = lin->out_features();
      w = lin->weight.value().data();
      bias = lin->bias;
    } else if (auto* conv = dynamic_cast<Conv2d*>(&m)) {
      const Conv2dOptions& co = conv->options();
      if (co.groups != 1 || co.dilation != 1)
        throw std::invalid_argument("cannot quantize layer " + std::to_string(li) +
                                    " (conv2d with groups or dilation): only plain convolutions are quantized");
      s->kind = Stage::Kind::Conv;
      s->in = conv->in_channels();
      s->out = conv->out_channels();
      s->kernel = co.kernel;
      s->stride = co.stride;
      s->padding = co.padding;
      w = conv->weight.value().data();
      bias = conv->bias;
      act = co.act;
    } else if (float_types().count(m.type())) {
      s->kind = Stage::Kind::Float;
      s->module = float_module(m.config());
    } else {
      throw std::invalid_argument("cannot quantize layer " + std::to_string(li) + " ('" + m.type() +
                                  "'): quantized inference takes linear and convolution layers, activations, "
                                  "pooling, reshaping and dropout");
    }
    if (s->kind != Stage::Kind::Float) {
      if (int8) {
        const auto [lo, hi] = value_range(x, o.percentile);
        set_input_quant(*s, lo, hi);
      }
      pack_weights(*s, o.dtype, w);
      s->bias.assign(static_cast<size_t>(s->out), 0.f);
      if (bias.defined()) std::memcpy(s->bias.data(), bias.value().data(), sizeof(float) * static_cast<size_t>(s->out));
      if (int8) finish_int8(*s);
      // A ReLU in the convolution, or as the next layer, is fused; another activation inside
      // a convolution follows it as a float stage.
      if (act == Act::ReLU) {
        s->relu = true;
      } else if (act != Act::Identity) {
        if (int8) x = m.forward(Var(x)).value();
        q->stages_.push_back(std::move(s));
        auto f = std::make_unique<Stage>();
        f->module = float_module(Activation(act).config());
        q->stages_.push_back(std::move(f));
        continue;
      } else if (li + 1 < layers.size()) {
        if (auto* a = dynamic_cast<Activation*>(layers[li + 1]); a && a->act() == Act::ReLU) {
          s->relu = true;
          if (int8) x = a->forward(m.forward(Var(x))).value();
          q->stages_.push_back(std::move(s));
          ++li;  // the ReLU is consumed
          continue;
        }
      }
    }
    if (int8) x = m.forward(Var(x)).value();
    q->stages_.push_back(std::move(s));
  }
  if (q->stages_.empty()) throw std::invalid_argument("the network has no layers to quantize");
  bool any = false;
  for (const auto& st : q->stages_) any = any || st->kind != Stage::Kind::Float;
  if (!any) throw std::invalid_argument("the network has no linear or convolution layer to quantize");
  return q;
}

bool QuantizedNet::rows_only() const {
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Conv) return false;
    if (s->kind == Stage::Kind::Float && s->module->type() != "activation" && s->module->type() != "dropout") return false;
  }
  return !stages_.empty() && stages_.front()->kind == Stage::Kind::Linear;
}

int64_t QuantizedNet::in_features() const { return rows_only() ? stages_.front()->in : 0; }

int64_t QuantizedNet::out_features() const {
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it)
    if ((*it)->kind != Stage::Kind::Float) return (*it)->out;
  return 0;
}

int64_t QuantizedNet::weight_bytes() const {
  int64_t b = 0;
  for (const auto& s : stages_) {
    if (s->kind == Stage::Kind::Float) continue;
    b += dtype_ == QuantDtype::BF16 ? static_cast<int64_t>(s->wb.w.size()) * 2 : static_cast<int64_t>(s->wi.w.size());
  }
  return b;
}

void QuantizedNet::infer(const float* x, int64_t rows, float* y) {
  if (!rows_only()) throw std::logic_error("QuantizedNet::infer takes a network of linear layers only; use forward");
  check_finite(x, rows * stages_.front()->in);
  Scratch& sc = *scratch_;
  const float* cur = x;
  int64_t width = stages_.front()->in;
  for (size_t si = 0; si < stages_.size(); ++si) {
    Stage& s = *stages_[si];
    if (s.kind == Stage::Kind::Float) {
      if (s.module->type() == "dropout") continue;
      // A float activation (not a fused ReLU): through the module, once per call.
      autograd::NoGradGuard ng;
      Tensor t({rows, width}, std::vector<float>(cur, cur + rows * width));
      Tensor r = s.module->forward(Var(t)).value();
      std::vector<float>& dst = cur == sc.f0.data() ? sc.f1 : sc.f0;
      grow(dst, static_cast<size_t>(rows * width));
      std::memcpy(dst.data(), r.data(), sizeof(float) * static_cast<size_t>(rows * width));
      cur = dst.data();
      continue;
    }
    if (s.in != width)
      throw std::invalid_argument("a linear layer of the quantized network takes " + std::to_string(s.in) +
                                  " features, given " + std::to_string(width));
    const bool last = std::none_of(stages_.begin() + static_cast<std::ptrdiff_t>(si) + 1, stages_.end(),
                                   [](const auto& t) { return t->kind != Stage::Kind::Float; });
    std::vector<float>& dstv = cur == sc.f0.data() ? sc.f1 : sc.f0;
    float* dst = y;
    if (!last) {
      grow(dstv, static_cast<size_t>(rows * s.out));
      dst = dstv.data();
    }
    if (dtype_ == QuantDtype::BF16) {
      const int64_t kp = s.wb.kp;
      grow(sc.ba, static_cast<size_t>(rows * kp));
      for (int64_t i = 0; i < rows; ++i) {
        backend::to_bf16(cur + i * s.in, sc.ba.data() + i * kp, s.in);
        for (int64_t p = s.in; p < kp; ++p) sc.ba[static_cast<size_t>(i * kp + p)] = 0;
      }
      backend::qgemm_bf16(rows, sc.ba.data(), kp, s.wb, dst, s.out);
      epilogue_f(s, dst, rows, dst, s.out);
    } else {
      const int64_t kp = s.wi.kp;
      grow(sc.qa, static_cast<size_t>(rows * kp));
      grow(sc.acc, static_cast<size_t>(rows * s.out));
      for (int64_t i = 0; i < rows; ++i) {
        uint8_t* qa = sc.qa.data() + i * kp;
        backend::quantize_u8(cur + i * s.in, qa, s.in, 1.f / s.a_scale, s.a_zero);
        std::memset(qa + s.in, 0, static_cast<size_t>(kp - s.in));
      }
      backend::qgemm_u8s8(rows, sc.qa.data(), kp, s.wi, s.a_zero, sc.acc.data(), s.out);
      epilogue_i(s, sc.acc.data(), rows, dst, s.out);
    }
    cur = dst;
    width = s.out;
  }
  // Float stages after the last product (a softmax, say) left the result in the scratch.
  if (cur != y) std::memcpy(y, cur, sizeof(float) * static_cast<size_t>(rows * width));
}

Tensor QuantizedNet::run_stage(Stage& s, const Tensor& x) {
  if (s.kind == Stage::Kind::Float) return s.module->forward(Var(x)).value();
  if (!x.all_finite())
    throw std::invalid_argument("the input holds NaN or infinite values; a quantized network cannot take them");
  const bool bf16 = dtype_ == QuantDtype::BF16;
  const int64_t kp = bf16 ? s.wb.kp : s.wi.kp;
  if (s.kind == Stage::Kind::Linear) {
    if (x.ndim() != 2 || x.dim(1) != s.in)
      throw std::invalid_argument("a linear layer of the quantized network takes (rows, " + std::to_string(s.in) +
                                  "), given " + shape_str(x.shape()));
    const int64_t rows = x.dim(0);
    Tensor y = Tensor::empty({rows, s.out});
    if (bf16) {
      std::vector<uint16_t> a(static_cast<size_t>(rows * kp), 0);
      for (int64_t i = 0; i < rows; ++i) backend::to_bf16(x.data() + i * s.in, a.data() + i * kp, s.in);
      backend::qgemm_bf16(rows, a.data(), kp, s.wb, y.data(), s.out);
      epilogue_f(s, y.data(), rows, y.data(), s.out);
    } else {
      std::vector<uint8_t> a(static_cast<size_t>(rows * kp), 0);
      for (int64_t i = 0; i < rows; ++i)
        backend::quantize_u8(x.data() + i * s.in, a.data() + i * kp, s.in, 1.f / s.a_scale, s.a_zero);
      std::vector<int32_t> acc(static_cast<size_t>(rows * s.out));
      backend::qgemm_u8s8(rows, a.data(), kp, s.wi, s.a_zero, acc.data(), s.out);
      epilogue_i(s, acc.data(), rows, y.data(), s.out);
    }
    return y;
  }
  // Convolution, image by image: the input quantized once, then im2col into rows of one
  // output pixel's patch (oh·ow, kp) — padding is the code of 0.0 — one product (oh·ow, out),
  // and the epilogue writes it transposed to (out, oh, ow).
  if (x.ndim() != 4 || x.dim(1) != s.in)
    throw std::invalid_argument("a convolution of the quantized network takes (n, " + std::to_string(s.in) +
                                ", h, w), given " + shape_str(x.shape()));
  const int64_t n = x.dim(0), h = x.dim(2), w = x.dim(3), k = s.kernel;
  const int64_t oh = (h + 2 * s.padding - k) / s.stride + 1, ow = (w + 2 * s.padding - k) / s.stride + 1;
  if (oh < 1 || ow < 1)
    throw std::invalid_argument("a convolution of the quantized network: input " + shape_str(x.shape()) +
                                " is smaller than its kernel");
  const int64_t pix = oh * ow, img = s.in * h * w;
  Tensor y = Tensor::empty({n, s.out, oh, ow});
  Scratch& sc = *scratch_;
  if (bf16) grow(sc.f0, static_cast<size_t>(pix * s.out));
  else grow(sc.acc, static_cast<size_t>(pix * s.out));
  // The image's codes, then (after kSlack) its im2col rows, then kSlack again.
  const int64_t cols_at = img + static_cast<int64_t>(kSlack), need = cols_at + pix * kp + static_cast<int64_t>(kSlack);
  for (int64_t b = 0; b < n; ++b) {
    const float* xi = x.data() + b * img;
    float* yo = y.data() + b * s.out * pix;  // (out, oh·ow): the epilogue writes it transposed
    if (bf16) {
      grow(sc.ba, static_cast<size_t>(need));
      backend::to_bf16(xi, sc.ba.data(), img);
      im2col(sc.ba.data(), s, h, w, oh, ow, kp, uint16_t{0}, sc.bpad, sc.ba.data() + cols_at);
      backend::qgemm_bf16(pix, sc.ba.data() + cols_at, kp, s.wb, sc.f0.data(), s.out);
      const float* a = sc.f0.data();
      for (int64_t j = 0; j < s.out; ++j) {
        const float bj = s.bias[static_cast<size_t>(j)];
        float* yj = yo + j * pix;
        for (int64_t r = 0; r < pix; ++r) {
          const float v = a[r * s.out + j] + bj;
          yj[r] = s.relu ? std::max(v, 0.f) : v;
        }
      }
    } else {
      grow(sc.qa, static_cast<size_t>(need));
      backend::quantize_u8(xi, sc.qa.data(), img, 1.f / s.a_scale, s.a_zero);
      im2col(sc.qa.data(), s, h, w, oh, ow, kp, static_cast<uint8_t>(s.a_zero), sc.qpad, sc.qa.data() + cols_at);
      backend::qgemm_u8s8(pix, sc.qa.data() + cols_at, kp, s.wi, s.a_zero, sc.acc.data(), s.out);
      const int32_t* a = sc.acc.data();
      for (int64_t j = 0; j < s.out; ++j) {
        const float bj = s.bias[static_cast<size_t>(j)], scj = s.oscale[static_cast<size_t>(j)];
        float* yj = yo + j * pix;
        for (int64_t r = 0; r < pix; ++r) {
          const float v = static_cast<float>(a[r * s.out + j]) * scj + bj;
          yj[r] = s.relu ? std::max(v, 0.f) : v;
        }
      }
    }
  }
  return y;
}

Var QuantizedNet::forward(const Var& xv) {
  autograd::NoGradGuard ng;
  const Tensor& x = xv.value();
  if (rows_only() && x.ndim() == 2 && x.dim(1) == stages_.front()->in) {
    Tensor y = Tensor::empty({x.dim(0), out_features()});
    infer(x.data(), x.dim(0), y.data());
    return Var(y);
  }
  Tensor cur = x;
  for (auto& s : stages_) cur = run_stage(*s, cur);
  return Var(cur);
}

json QuantizedNet::config() const {
  json stages = json::array();
  for (const auto& s : stages_) {
    switch (s->kind) {
      case Stage::Kind::Linear:
        stages.push_back({{"type", "linear"}, {"in", s->in}, {"out", s->out}, {"relu", s->relu}});
        break;
      case Stage::Kind::Conv:
        stages.push_back({{"type", "conv2d"}, {"in", s->in}, {"out", s->out}, {"kernel", s->kernel},
                          {"stride", s->stride}, {"padding", s->padding}, {"relu", s->relu}});
        break;
      case Stage::Kind::Float:
        stages.push_back({{"type", "float"}, {"module", s->module->config()}});
        break;
    }
  }
  return {{"type", "quantized"}, {"format", 1}, {"dtype", to_string(dtype_)}, {"stages", stages}, {"source", source_}};
}

QuantizedNet::Stored QuantizedNet::save() const {
  Stored st;
  st.meta = config();
  for (size_t i = 0; i < stages_.size(); ++i) {
    const Stage& s = *stages_[i];
    if (s.kind == Stage::Kind::Float) continue;
    const std::string pre = "q." + std::to_string(i) + ".";
    const int64_t k = s.patch();
    Shape wshape = s.kind == Stage::Kind::Linear ? Shape{s.out, s.in} : Shape{s.out, s.in, s.kernel, s.kernel};
    Tensor w = Tensor::empty(wshape);
    for (int64_t j = 0; j < s.out; ++j)
      for (int64_t p = 0; p < k; ++p)
        w.data()[j * k + p] = dtype_ == QuantDtype::BF16 ? backend::from_bf16(backend::packed_at(s.wb, j, p))
                                                         : static_cast<float>(backend::packed_at(s.wi, j, p));
    st.arrays.emplace_back(pre + "weight", std::move(w));
    st.dtypes[pre + "weight"] = dtype_ == QuantDtype::BF16 ? "BF16" : "I8";
    st.arrays.emplace_back(pre + "bias", Tensor({s.out}, s.bias));
    if (dtype_ == QuantDtype::Int8) {
      st.arrays.emplace_back(pre + "weight_scale", Tensor({s.out}, s.wscale));
      st.arrays.emplace_back(pre + "input_quant", Tensor({2}, std::vector<float>{s.a_scale, static_cast<float>(s.a_zero)}));
    }
  }
  return st;
}

std::unique_ptr<QuantizedNet> QuantizedNet::load(const json& meta, const std::vector<std::pair<std::string, Tensor>>& arrays) {
  auto bad = [](const std::string& what) { return std::invalid_argument(what); };
  if (!meta.is_object() || meta.value("type", "") != "quantized")
    throw bad("not a quantized network's description (its \"type\" is not \"quantized\")");
  if (!meta.contains("format") || !meta.at("format").is_number_integer() || meta.at("format").get<int64_t>() != 1)
    throw bad("unknown quantized description format (this build reads format 1)");
  if (!meta.contains("dtype") || !meta.at("dtype").is_string()) throw bad("the description lacks its \"dtype\"");
  std::unique_ptr<QuantizedNet> q(new QuantizedNet());
  q->dtype_ = quant_dtype_from_string(meta.at("dtype").get<std::string>());
  q->source_ = meta.value("source", json());
  if (!meta.contains("stages") || !meta.at("stages").is_array() || meta.at("stages").empty())
    throw bad("the description has no \"stages\"");
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : arrays) by_name[name] = &t;
  auto take = [&](const std::string& name, const Shape& shape) -> const Tensor& {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw bad("it lacks array '" + name + "'");
    if (it->second->shape() != shape)
      throw bad("array '" + name + "' has shape " + shape_str(it->second->shape()) + ", the description needs " +
                shape_str(shape));
    const Tensor& t = *it->second;
    by_name.erase(it);
    if (!t.all_finite()) throw bad("array '" + name + "' holds NaN or infinite values");
    return t;
  };
  auto count = [&](const json& st, const char* key, int64_t lo, int64_t hi) {
    if (!st.contains(key) || !st.at(key).is_number_integer())
      throw bad("a stage lacks its integer \"" + std::string(key) + "\": " + st.dump());
    const int64_t v = st.at(key).get<int64_t>();
    if (v < lo || v > hi)
      throw bad("a stage's \"" + std::string(key) + "\" is " + std::to_string(v) + ", outside " + std::to_string(lo) +
                ".." + std::to_string(hi));
    return v;
  };
  const json& stages = meta.at("stages");
  for (size_t i = 0; i < stages.size(); ++i) {
    const json& st = stages[i];
    if (!st.is_object() || !st.contains("type") || !st.at("type").is_string()) throw bad("stage " + std::to_string(i) + " has no type");
    const std::string type = st.at("type").get<std::string>();
    auto s = std::make_unique<Stage>();
    if (type == "float") {
      if (!st.contains("module") || !st.at("module").is_object() || !float_types().count(st.at("module").value("type", "")))
        throw bad("stage " + std::to_string(i) + " is a float stage of a kind a quantized network does not hold: " + st.dump());
      try {
        s->module = float_module(st.at("module"));
      } catch (const std::exception& e) {
        throw bad("stage " + std::to_string(i) + ": " + e.what());
      }
      q->stages_.push_back(std::move(s));
      continue;
    }
    if (type != "linear" && type != "conv2d") throw bad("stage " + std::to_string(i) + " has unknown type '" + type + "'");
    const int64_t big = int64_t{1} << 24;
    s->kind = type == "linear" ? Stage::Kind::Linear : Stage::Kind::Conv;
    s->in = count(st, "in", 1, big);
    s->out = count(st, "out", 1, big);
    if (s->kind == Stage::Kind::Conv) {
      s->kernel = count(st, "kernel", 1, 1024);
      s->stride = count(st, "stride", 1, 1024);
      s->padding = count(st, "padding", 0, 1024);
    }
    if (!st.contains("relu") || !st.at("relu").is_boolean()) throw bad("stage " + std::to_string(i) + " lacks \"relu\"");
    s->relu = st.at("relu").get<bool>();
    const std::string pre = "q." + std::to_string(i) + ".";
    const Shape wshape = s->kind == Stage::Kind::Linear ? Shape{s->out, s->in} : Shape{s->out, s->in, s->kernel, s->kernel};
    const Tensor& w = take(pre + "weight", wshape);
    const Tensor& b = take(pre + "bias", {s->out});
    s->bias = b.to_vector();
    const int64_t n = w.numel();
    if (q->dtype_ == QuantDtype::BF16) {
      for (int64_t p = 0; p < n; ++p)
        if (backend::from_bf16(backend::to_bf16(w[p])) != w[p])
          throw bad("array '" + pre + "weight' holds " + std::to_string(w[p]) + ", which is not a bfloat16 value");
      s->wb = backend::pack_bf16(w.data(), s->out, s->patch());
    } else {
      std::vector<int8_t> qi(static_cast<size_t>(n));
      for (int64_t p = 0; p < n; ++p) {
        if (w[p] != std::round(w[p]) || w[p] < -127.f || w[p] > 127.f)
          throw bad("array '" + pre + "weight' holds " + std::to_string(w[p]) + ", not an integer in -127..127");
        qi[static_cast<size_t>(p)] = static_cast<int8_t>(w[p]);
      }
      s->wi = backend::pack_int8(qi.data(), s->out, s->patch());
      const Tensor& ws = take(pre + "weight_scale", {s->out});
      s->wscale = ws.to_vector();
      for (float v : s->wscale)
        if (!(v > 0.f)) throw bad("array '" + pre + "weight_scale' holds " + std::to_string(v) + ", not a positive scale");
      const Tensor& iq = take(pre + "input_quant", {2});
      if (!(iq[0] > 0.f)) throw bad("array '" + pre + "input_quant' has scale " + std::to_string(iq[0]) + ", not positive");
      if (iq[1] != std::round(iq[1]) || iq[1] < 0.f || iq[1] > 255.f)
        throw bad("array '" + pre + "input_quant' has zero point " + std::to_string(iq[1]) + ", not an integer in 0..255");
      s->a_scale = iq[0];
      s->a_zero = static_cast<int32_t>(iq[1]);
      finish_int8(*s);
    }
    q->stages_.push_back(std::move(s));
  }
  if (!by_name.empty()) throw bad("it has array '" + by_name.begin()->first + "', which the description does not use");
  bool any = false;
  int64_t width = -1;
  const bool rows = q->rows_only();
  for (const auto& s : q->stages_) {
    if (s->kind == Stage::Kind::Float) continue;
    if (rows && width >= 0 && s->in != width)
      throw bad("a linear stage takes " + std::to_string(s->in) + " features where the one before gives " +
                std::to_string(width));
    width = s->out;
    any = true;
  }
  if (!any) throw bad("the description has no linear or convolution stage");
  return q;
}

}  // namespace bp::nn
