// Sequence blocks: fused recurrent layers, embedding, shape blocks. Forward beside backward.
#include "backprop/ops/rnn.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "backprop/backend/backend.hpp"
#include "backprop/ops/detail.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::grad_buffer;
using autograd::make_result;

int gate_count(Cell c) {
  switch (c) {
    case Cell::RNNTanh: return 1;
    case Cell::LSTM: return 4;
    case Cell::GRU: return 3;
  }
  return 1;
}

std::string to_string(Cell c) {
  switch (c) {
    case Cell::RNNTanh: return "rnn";
    case Cell::LSTM: return "lstm";
    case Cell::GRU: return "gru";
  }
  return "?";
}

namespace {

struct Dims {
  int64_t T, B, I, H, G;
};

Dims check_sequence(Cell cell, const Var& x, const Var& h0, const Var& c0, const Var& w_ih, const Var& w_hh,
                    const Var& b_ih, const Var& b_hh, const std::vector<int64_t>& lengths) {
  const std::string op = to_string(cell);
  if (x.value().ndim() != 3) throw ShapeError(op + ": input must be (T, B, I), got " + shape_str(x.shape()));
  Dims d{x.shape()[0], x.shape()[1], x.shape()[2], 0, gate_count(cell)};
  if (w_ih.value().ndim() != 2 || w_ih.shape()[0] % d.G != 0 || w_ih.shape()[0] == 0)
    throw ShapeError(op + ": weight_ih must be (" + std::to_string(d.G) + "·H, I), got " + shape_str(w_ih.shape()));
  d.H = w_ih.shape()[0] / d.G;
  const int64_t GH = d.G * d.H;
  if (w_ih.shape()[1] != d.I)
    throw ShapeError(op + ": input has " + std::to_string(d.I) + " features but weight_ih is " + shape_str(w_ih.shape()));
  if (w_hh.shape() != Shape{GH, d.H})
    throw ShapeError(op + ": weight_hh must be " + shape_str({GH, d.H}) + ", got " + shape_str(w_hh.shape()));
  for (const Var* b : {&b_ih, &b_hh})
    if (b->defined() && b->numel() != GH)
      throw ShapeError(op + ": biases must have " + std::to_string(GH) + " values, got " + shape_str(b->shape()));
  if (h0.defined() && h0.shape() != Shape{d.B, d.H})
    throw ShapeError(op + ": initial h must be " + shape_str({d.B, d.H}) + ", got " + shape_str(h0.shape()));
  if (c0.defined() && cell != Cell::LSTM) throw ShapeError(op + ": only the LSTM has a cell state c");
  if (c0.defined() && c0.shape() != Shape{d.B, d.H})
    throw ShapeError(op + ": initial c must be " + shape_str({d.B, d.H}) + ", got " + shape_str(c0.shape()));
  if (!lengths.empty()) {
    if (static_cast<int64_t>(lengths.size()) != d.B)
      throw ShapeError(op + ": " + std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(d.B));
    for (int64_t L : lengths)
      if (L < 0 || L > d.T)
        throw ShapeError(op + ": sequence length " + std::to_string(L) + " outside [0, " + std::to_string(d.T) + "]");
  }
  return d;
}

// Fills the rows of a (rows, n) buffer with the sum of up to two bias vectors (or zeros).
void fill_bias_rows(float* dst, int64_t rows, int64_t n, const Var& b1, const Var& b2) {
  std::vector<float> b(static_cast<size_t>(n), 0.f);
  for (const Var* v : {&b1, &b2})
    if (v->defined())
      for (int64_t j = 0; j < n; ++j) b[j] += v->value()[j];
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * n, b.data(), sizeof(float) * n);
}

float* gemm_grad_target(Node& n, float& beta) {
  if (!n.grad.defined()) {
    n.grad = Tensor::empty(n.value.shape());
    beta = 0.f;
  } else {
    beta = 1.f;
  }
  return n.grad.data();
}

// What the forward keeps for backward, all indexed by time step t (not by processing order),
// so that the weight gradients are single GEMMs over all steps whichever the direction.
struct SequenceSaved {
  Dims d;
  Cell cell;
  bool reverse;
  std::vector<int64_t> len;  // (B)
  Tensor gates;              // (T, B, G·H) activated gates: LSTM i f g o, GRU r z n, RNN h'
  Tensor hprev;              // (T, B, H) state going into step t
  Tensor cprev, tanh_c;      // (T, B, H) LSTM: cell going into step t, tanh of the cell after it
  Tensor hn;                 // (T, B, H) GRU: W_hn h + b_hn, the term r multiplies
};

}  // namespace

SequenceResult recurrent_sequence(Cell cell, const Var& x, const Var& h0, const Var& c0, const Var& w_ih,
                                  const Var& w_hh, const Var& b_ih, const Var& b_hh,
                                  const std::vector<int64_t>& lengths, bool reverse) {
  const Dims d = check_sequence(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
  const int64_t T = d.T, B = d.B, I = d.I, H = d.H, GH = d.G * d.H;
  const bool lstm = cell == Cell::LSTM, gru = cell == Cell::GRU;
  const int64_t nstate = lstm ? 2 : 1;

  // Constants stand in for absent optional inputs, so the input list has one fixed order:
  // x, h0, c0, w_ih, w_hh, b_ih, b_hh.
  const Var h0v = h0.defined() ? h0 : Var(Tensor({B, H}));
  const Var c0v = c0.defined() ? c0 : Var(Tensor({lstm ? B : 0, H}));
  const Var bihv = b_ih.defined() ? b_ih : Var(Tensor({GH}));
  const Var bhhv = b_hh.defined() ? b_hh : Var(Tensor({GH}));
  const bool record =
      autograd::grad_enabled() && (x.requires_grad() || h0v.requires_grad() || c0v.requires_grad() ||
                                   w_ih.requires_grad() || w_hh.requires_grad() || bihv.requires_grad() ||
                                   bhhv.requires_grad());

  auto s = std::make_shared<SequenceSaved>();
  s->d = d;
  s->cell = cell;
  s->reverse = reverse;
  s->len = lengths.empty() ? std::vector<int64_t>(static_cast<size_t>(B), T) : lengths;
  const int64_t* len = s->len.data();

  // The projection of every step's input at once: (T·B, I) × (I, G·H), starting from the biases
  // (the GRU keeps b_hh apart: r multiplies W_hn h + b_hn).
  s->gates = Tensor::empty({T, B, GH});
  float* xp = s->gates.data();
  if (gru) fill_bias_rows(xp, T * B, GH, bihv, Var());
  else fill_bias_rows(xp, T * B, GH, bihv, bhhv);
  if (T * B > 0)
    backend::gemm(false, true, T * B, GH, I, 1.f, x.value().data(), I, w_ih.value().data(), I, 1.f, xp, GH);

  if (record) {
    s->hprev = Tensor::empty({T, B, H});
    if (lstm) s->cprev = Tensor::empty({T, B, H}), s->tanh_c = Tensor::empty({T, B, H});
    if (gru) s->hn = Tensor::empty({T, B, H});
  }
  Tensor out = Tensor::empty({T + nstate, B, H});  // [y_0 … y_{T−1}, h_n, (c_n)]
  Tensor h = h0v.value().clone();                  // (B, H) the running state
  Tensor c = lstm ? (c0.defined() ? c0.value().clone() : Tensor({B, H})) : Tensor();
  Tensor hp = gru ? Tensor::empty({B, GH}) : Tensor();  // (B, G·H) GRU: W_hh h + b_hh
  const float* whh = w_hh.value().data();
  Tensor tc_scratch = lstm && !record ? Tensor::empty({B, H}) : Tensor();  // tanh c' when nothing is saved

  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = reverse ? T - 1 - step : step;
    const int64_t tb = t * B * H;
    if (record) {
      std::memcpy(s->hprev.data() + tb, h.data(), sizeof(float) * B * H);
      if (lstm) std::memcpy(s->cprev.data() + tb, c.data(), sizeof(float) * B * H);
    }
    float* g = xp + t * B * GH;  // (B, G·H)
    if (gru) {
      fill_bias_rows(hp.data(), B, GH, bhhv, Var());
      backend::gemm(false, true, B, GH, H, 1.f, h.data(), H, whh, H, 1.f, hp.data(), GH);
    } else {
      backend::gemm(false, true, B, GH, H, 1.f, h.data(), H, whh, H, 1.f, g, GH);
    }
    float* y = out.data() + tb;
    // The gate kernel, one sequence's row at a time: the activations as whole-array calls of
    // the backend's vectorised σ and tanh over the gate blocks, then the state update as
    // plain loops that vectorise too.
    for (int64_t b = 0; b < B; ++b) {
      float* yb = y + b * H;
      if (t >= len[b]) {  // past this sequence's end: output 0, state unchanged
        std::fill(yb, yb + H, 0.f);
        continue;
      }
      float* gb = g + b * GH;
      float* hb = h.data() + b * H;
      if (lstm) {
        float* cb = c.data() + b * H;
        float* tcb = (record ? s->tanh_c.data() + tb : tc_scratch.data()) + b * H;
        backend::vsigmoid(gb, gb, 2 * H);             // i, f
        backend::vtanh(gb + 2 * H, gb + 2 * H, H);    // g
        backend::vsigmoid(gb + 3 * H, gb + 3 * H, H); // o
        const float *ig = gb, *fg = gb + H, *gg = gb + 2 * H, *og = gb + 3 * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) cb[j] = fg[j] * cb[j] + ig[j] * gg[j];
        backend::vtanh(cb, tcb, H);
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) hb[j] = yb[j] = og[j] * tcb[j];
      } else if (gru) {
        const float* hpb = hp.data() + b * GH;
        float* hnb = record ? s->hn.data() + tb + b * H : nullptr;
#pragma omp simd
        for (int64_t j = 0; j < 2 * H; ++j) gb[j] += hpb[j];
        backend::vsigmoid(gb, gb, 2 * H);  // r, z
        const float *r = gb, *z = gb + H, *hpn = hpb + 2 * H;
        float* n = gb + 2 * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) n[j] += r[j] * hpn[j];
        backend::vtanh(n, n, H);
        if (hnb) std::memcpy(hnb, hpn, sizeof(float) * H);
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) hb[j] = yb[j] = (1.f - z[j]) * n[j] + z[j] * hb[j];
      } else {
        backend::vtanh(gb, gb, H);
        std::memcpy(hb, gb, sizeof(float) * H);
        std::memcpy(yb, gb, sizeof(float) * H);
      }
    }
  }
  std::memcpy(out.data() + T * B * H, h.data(), sizeof(float) * B * H);
  if (lstm) std::memcpy(out.data() + (T + 1) * B * H, c.data(), sizeof(float) * B * H);

  // Backward, given the gradients of the outputs dy (T, B, H), dh_n and dc_n (B, H):
  // for t in reverse processing order, with dh, dc the gradients reaching the state after step t,
  //   dh_t = dh + dy_t
  //   LSTM  dc_t = dc + dh_t ⊙ o ⊙ (1 − tanh²c_t);  d[i f g o] = [dc_t⊙g, dc_t⊙c_{t−1}, dc_t⊙i, dh_t⊙tanh c_t]
  //         through σ' = σ(1−σ), tanh' = 1 − tanh²;  dc ← dc_t ⊙ f
  //   GRU   dn = dh_t ⊙ (1 − z), dz = dh_t ⊙ (h_{t−1} − n), da_n = dn ⊙ (1 − n²);
  //         da_r = da_n ⊙ (W_hn h + b_hn) ⊙ r(1 − r), da_z = dz ⊙ z(1 − z);
  //         the input side gets [da_r, da_z, da_n], the hidden side [da_r, da_z, da_n ⊙ r]
  //   dh ← (direct part: GRU dh_t ⊙ z, else 0) + dA_hh,t W_hh
  // A step past a sequence's end passes dh and dc through unchanged and has zero gate gradients.
  // Then dW_ih = dA_ihᵀ X, dx = dA_ih W_ih, dW_hh = dA_hhᵀ H_prev, db = column sums: one GEMM
  // (or loop) each over all T·B rows.
  auto backward = [s](Node& nd) {
    const Dims& d = s->d;
    const int64_t T = d.T, B = d.B, I = d.I, H = d.H, GH = d.G * d.H;
    const bool lstm = s->cell == Cell::LSTM, gru = s->cell == Cell::GRU;
    const int64_t* len = s->len.data();
    Node& nx = *nd.inputs[0];
    Node& nh0 = *nd.inputs[1];
    Node& nc0 = *nd.inputs[2];
    Node& nwih = *nd.inputs[3];
    Node& nwhh = *nd.inputs[4];
    Node& nbih = *nd.inputs[5];
    Node& nbhh = *nd.inputs[6];
    const float* dy = nd.grad.data();  // (T + nstate, B, H)
    Tensor dh = Tensor::empty({B, H}), dc = lstm ? Tensor::empty({B, H}) : Tensor();
    std::memcpy(dh.data(), dy + T * B * H, sizeof(float) * B * H);
    if (lstm) std::memcpy(dc.data(), dy + (T + 1) * B * H, sizeof(float) * B * H);
    // Gate gradients on the input side (0 where masked), and on the hidden side (the same but
    // for the GRU's n). Every row is written below, so no zero fill first.
    Tensor dax = Tensor::empty({T, B, GH});
    Tensor dah = gru ? Tensor::empty({T, B, GH}) : dax;
    const float* whh = nwhh.value.data();
    const float* gates = s->gates.data();

    for (int64_t step = T; step-- > 0;) {
      const int64_t t = s->reverse ? T - 1 - step : step;
      const int64_t tb = t * B * H;
      bool any = false;
      for (int64_t b = 0; b < B; ++b) {
        if (t >= len[b]) {
          std::fill_n(dax.data() + (t * B + b) * GH, GH, 0.f);
          if (gru) std::fill_n(dah.data() + (t * B + b) * GH, GH, 0.f);
          continue;
        }
        any = true;
        const float* gb = gates + (t * B + b) * GH;
        const float* dyb = dy + tb + b * H;
        float* dhb = dh.data() + b * H;
        float* ax = dax.data() + (t * B + b) * GH;
        if (lstm) {
          float* dcb = dc.data() + b * H;
          const float* cp = s->cprev.data() + tb + b * H;
          const float* tc = s->tanh_c.data() + tb + b * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const float i = gb[j], f = gb[H + j], gg = gb[2 * H + j], o = gb[3 * H + j];
            const float dht = dhb[j] + dyb[j];
            const float dct = dcb[j] + dht * o * (1.f - tc[j] * tc[j]);
            ax[j] = dct * gg * i * (1.f - i);
            ax[H + j] = dct * cp[j] * f * (1.f - f);
            ax[2 * H + j] = dct * i * (1.f - gg * gg);
            ax[3 * H + j] = dht * tc[j] * o * (1.f - o);
            dcb[j] = dct * f;
            dhb[j] = 0.f;
          }
        } else if (gru) {
          float* ah = dah.data() + (t * B + b) * GH;
          const float* hprev = s->hprev.data() + tb + b * H;
          const float* hn = s->hn.data() + tb + b * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const float r = gb[j], z = gb[H + j], n = gb[2 * H + j];
            const float dht = dhb[j] + dyb[j];
            const float dan = dht * (1.f - z) * (1.f - n * n);
            const float dar = dan * hn[j] * r * (1.f - r);
            const float daz = dht * (hprev[j] - n) * z * (1.f - z);
            ax[j] = ah[j] = dar;
            ax[H + j] = ah[H + j] = daz;
            ax[2 * H + j] = dan;
            ah[2 * H + j] = dan * r;
            dhb[j] = dht * z;
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const float a = gb[j], dht = dhb[j] + dyb[j];
            ax[j] = dht * (1.f - a * a);
            dhb[j] = 0.f;
          }
        }
      }
      // Masked rows of dA_hh are 0, so the GEMM leaves their dh as it was.
      if (any) backend::gemm(false, false, B, H, GH, 1.f, dah.data() + t * B * GH, GH, whh, H, 1.f, dh.data(), H);
    }

    if (nh0.requires_grad) accumulate(nh0, std::move(dh));
    if (lstm && nc0.requires_grad) accumulate(nc0, std::move(dc));
    const int64_t rows = T * B;
    float beta;
    if (nx.requires_grad && rows > 0) {  // dx = dA_ih W_ih  (T·B, I)
      float* gx = gemm_grad_target(nx, beta);
      backend::gemm(false, false, rows, I, GH, 1.f, dax.data(), GH, nwih.value.data(), I, beta, gx, I);
    }
    if (nwih.requires_grad) {  // dW_ih = dA_ihᵀ X  (G·H, I)
      float* gw = gemm_grad_target(nwih, beta);
      backend::gemm(true, false, GH, I, rows, 1.f, dax.data(), GH, nx.value.data(), I, beta, gw, I);
    }
    if (nwhh.requires_grad) {  // dW_hh = dA_hhᵀ H_prev  (G·H, H)
      float* gw = gemm_grad_target(nwhh, beta);
      backend::gemm(true, false, GH, H, rows, 1.f, dah.data(), GH, s->hprev.data(), H, beta, gw, H);
    }
    for (auto [nb, a] : {std::pair<Node*, const Tensor*>{&nbih, &dax}, {&nbhh, &dah}}) {
      if (!nb->requires_grad) continue;
      float* db = grad_buffer(*nb).data();
      const float* av = a->data();
      for (int64_t r = 0; r < rows; ++r)
#pragma omp simd
        for (int64_t j = 0; j < GH; ++j) db[j] += av[r * GH + j];
    }
  };
  Var packed = record ? make_result(std::move(out), std::vector<Var>{x, h0v, c0v, w_ih, w_hh, bihv, bhhv},
                                    std::function<void(Node&)>(backward), "recurrent_sequence")
                      : autograd::make_unrecorded(std::move(out), "recurrent_sequence");
  SequenceResult res;
  res.output = narrow(packed, 0, 0, T);
  res.h = reshape(narrow(packed, 0, T, 1), {B, H});
  if (lstm) res.c = reshape(narrow(packed, 0, T + 1, 1), {B, H});
  return res;
}

// ---- the composite reference: per step, gate blocks from narrow(weight rows) and linear.
SequenceResult recurrent_sequence_reference(Cell cell, const Var& x, const Var& h0, const Var& c0, const Var& w_ih,
                                            const Var& w_hh, const Var& b_ih, const Var& b_hh,
                                            const std::vector<int64_t>& lengths, bool reverse) {
  const Dims d = check_sequence(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
  const int64_t T = d.T, B = d.B, H = d.H;
  auto block = [H](const Var& w, int k) { return w.defined() ? narrow(w, 0, k * H, H) : Var(); };
  auto pre = [&](const Var& xt, const Var& h, int k) {  // W_ih,k x + b_ih,k + W_hh,k h + b_hh,k
    return add(linear(xt, block(w_ih, k), block(b_ih, k)), linear(h, block(w_hh, k), block(b_hh, k)));
  };
  Var h = h0.defined() ? h0 : Var(Tensor({B, H}));
  Var c = cell == Cell::LSTM ? (c0.defined() ? c0 : Var(Tensor({B, H}))) : Var();
  std::vector<Var> ys(static_cast<size_t>(T));
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = reverse ? T - 1 - step : step;
    const Var xt = reshape(narrow(x, 0, t, 1), {B, d.I});
    Var hn, cn;
    if (cell == Cell::LSTM) {
      const Var i = sigmoid(pre(xt, h, 0)), f = sigmoid(pre(xt, h, 1));
      const Var g = tanh(pre(xt, h, 2)), o = sigmoid(pre(xt, h, 3));
      cn = add(mul(f, c), mul(i, g));
      hn = mul(o, tanh(cn));
    } else if (cell == Cell::GRU) {
      const Var r = sigmoid(pre(xt, h, 0)), z = sigmoid(pre(xt, h, 1));
      const Var n = tanh(add(linear(xt, block(w_ih, 2), block(b_ih, 2)), mul(r, linear(h, block(w_hh, 2), block(b_hh, 2)))));
      hn = add(mul(add_scalar(neg(z), 1.f), n), mul(z, h));
    } else {
      hn = tanh(pre(xt, h, 0));
    }
    if (lengths.empty()) {
      h = hn, c = cn;
      ys[t] = hn;
    } else {  // m = 1 for the sequences still running: state ← m·new + (1 − m)·old, y = m·new
      Tensor m({B, 1}), keep({B, 1});
      for (int64_t b = 0; b < B; ++b) m[b] = t < lengths[b] ? 1.f : 0.f, keep[b] = 1.f - m[b];
      const Var mv(m), kv(keep);
      ys[t] = mul(hn, mv);
      h = add(ys[t], mul(h, kv));
      if (cn.defined()) c = add(mul(cn, mv), mul(c, kv));
    }
  }
  for (Var& y : ys) y = reshape(y, {1, B, H});
  SequenceResult res;
  res.output = T > 0 ? concat(ys, 0) : Var(Tensor({0, B, H}));
  res.h = h;
  res.c = c;
  return res;
}

// ---- embedding
Var embedding(const Var& weight, const std::vector<int64_t>& indices, const Shape& index_shape) {
  if (weight.value().ndim() != 2) throw ShapeError("embedding: the table must be (V, D), got " + shape_str(weight.shape()));
  const int64_t V = weight.shape()[0], D = weight.shape()[1], N = static_cast<int64_t>(indices.size());
  if (shape_numel(index_shape) != N)
    throw ShapeError("embedding: " + std::to_string(N) + " indices for the shape " + shape_str(index_shape));
  for (int64_t n = 0; n < N; ++n)
    if (indices[n] < 0 || indices[n] >= V)
      throw std::invalid_argument("embedding: index " + std::to_string(indices[n]) + " (position " + std::to_string(n) +
                                  ") is outside the table's " + std::to_string(V) + " rows");
  Shape os = index_shape;
  os.push_back(D);
  Tensor out = gather_rows(weight.value(), indices.data(), N).reshape(os);
  return make_result(std::move(out), {weight}, [indices, D](Node& nd) {
    float* gw = grad_buffer(*nd.inputs[0]).data();
    const float* g = nd.grad.data();
    for (size_t n = 0; n < indices.size(); ++n) {
      float* row = gw + indices[n] * D;
      const float* gr = g + static_cast<int64_t>(n) * D;
      for (int64_t j = 0; j < D; ++j) row[j] += gr[j];
    }
  }, "embedding");
}

// ---- shape blocks. A tensor seen around `dim` is (outer, size, inner).
namespace {
void around(const Shape& s, int& dim, int64_t& outer, int64_t& inner, const char* op) {
  const int nd = static_cast<int>(s.size());
  if (dim < 0) dim += nd;
  if (dim < 0 || dim >= nd) throw ShapeError(std::string(op) + ": dimension out of range for shape " + shape_str(s));
  outer = inner = 1;
  for (int i = 0; i < dim; ++i) outer *= s[i];
  for (int i = dim + 1; i < nd; ++i) inner *= s[i];
}
}  // namespace

Var narrow(const Var& x, int dim, int64_t begin, int64_t count) {
  int64_t outer, inner;
  around(x.shape(), dim, outer, inner, "narrow");
  const int64_t size = x.shape()[dim];
  if (begin < 0 || count < 0 || begin + count > size)
    throw ShapeError("narrow: [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") outside dimension " +
                     std::to_string(dim) + " of " + shape_str(x.shape()));
  Shape os = x.shape();
  os[dim] = count;
  Tensor out = Tensor::empty(os);
  const float* src = x.value().data();
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out.data() + o * count * inner, src + (o * size + begin) * inner, sizeof(float) * count * inner);
  return make_result(std::move(out), {x}, [outer, inner, size, begin, count](Node& nd) {
    float* gx = grad_buffer(*nd.inputs[0]).data();
    const float* g = nd.grad.data();
    for (int64_t o = 0; o < outer; ++o) {
      float* dst = gx + (o * size + begin) * inner;
      const float* gs = g + o * count * inner;
      for (int64_t k = 0; k < count * inner; ++k) dst[k] += gs[k];
    }
  }, "narrow");
}

Var concat(const std::vector<Var>& xs, int dim) {
  if (xs.empty()) throw ShapeError("concat: nothing to join");
  const Shape& s0 = xs[0].shape();
  int64_t outer, inner;
  around(s0, dim, outer, inner, "concat");
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (const Var& v : xs) {
    Shape a = v.shape(), b = s0;
    if (a.size() != b.size()) throw ShapeError("concat: " + shape_str(v.shape()) + " and " + shape_str(s0) + " differ in rank");
    a[dim] = b[dim] = 0;
    if (a != b) throw ShapeError("concat: " + shape_str(v.shape()) + " and " + shape_str(s0) + " differ off dimension " + std::to_string(dim));
    sizes.push_back(v.shape()[dim]);
    total += v.shape()[dim];
  }
  Shape os = s0;
  os[dim] = total;
  Tensor out = Tensor::empty(os);
  int64_t off = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const float* src = xs[k].value().data();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out.data() + (o * total + off) * inner, src + o * sizes[k] * inner, sizeof(float) * sizes[k] * inner);
    off += sizes[k];
  }
  return make_result(std::move(out), xs, std::function<void(Node&)>([outer, inner, total, sizes](Node& nd) {
    int64_t off = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      Node& in = *nd.inputs[k];
      if (in.requires_grad) {
        Tensor g = Tensor::empty(in.value.shape());
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(g.data() + o * sizes[k] * inner, nd.grad.data() + (o * total + off) * inner,
                      sizeof(float) * sizes[k] * inner);
        accumulate(in, std::move(g));
      }
      off += sizes[k];
    }
  }), "concat");
}

Var swap01(const Var& x) {
  if (x.value().ndim() < 2) throw ShapeError("swap01: needs at least 2 dimensions, got " + shape_str(x.shape()));
  const int64_t A = x.shape()[0], B = x.shape()[1], inner = x.numel() / std::max<int64_t>(1, A * B);
  Shape os = x.shape();
  std::swap(os[0], os[1]);
  auto swap = [inner](const float* src, float* dst, int64_t A, int64_t B) {  // src (A, B, inner) → dst (B, A, inner)
    for (int64_t a = 0; a < A; ++a)
      for (int64_t b = 0; b < B; ++b) std::memcpy(dst + (b * A + a) * inner, src + (a * B + b) * inner, sizeof(float) * inner);
  };
  Tensor out = Tensor::empty(os);
  swap(x.value().data(), out.data(), A, B);
  return make_result(std::move(out), {x}, [swap, A, B](Node& nd) {
    Node& in = *nd.inputs[0];
    Tensor g = Tensor::empty(in.value.shape());
    swap(nd.grad.data(), g.data(), B, A);
    accumulate(in, std::move(g));
  }, "swap01");
}

}  // namespace bp::ops
