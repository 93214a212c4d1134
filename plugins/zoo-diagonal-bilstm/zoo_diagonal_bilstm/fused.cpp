// The diagonal LSTM recurrence of both directions in one call per layer, forward and backward through
// time, for float and double (bf16 runs here in float).
//
// Built at first use by zoo.native; recurrence.py has the layout and the PyTorch path this replaces.
// Per direction and diagonal: the states above and to the left of the diagonal's pixels are gathered
// into one (2h, n*B) block above the layer's inputs (K, n*B), the input-to-state and state-to-state
// convs are one matrix product with the stacked weights (4h, 2h + K), and the gate arithmetic is one
// vectorised loop. The gathered blocks are kept, so the
// weights' gradient is one product over all pixels at the end.

#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
inline T tanh_of(T x) {
  return T(2) / (T(1) + std::exp(T(-2) * x)) - T(1);
}

inline int64_t diagonal_length(int64_t k, int64_t H, int64_t W) {
  return std::min(k, H - 1) - std::max<int64_t>(0, k - W + 1) + 1;
}

// inputs (D, K, P*B) in diagonal order, bias (D, 4h), w (D, 4h, 2h + K): [above | side | input-to-state].
// Returns out, acts, the product's right side (D, 2h + K, P*B) [above; side; inputs], the cell on the
// left (D, h, P*B) and tanh of the cell. The input-to-state product runs inside each diagonal's product.
template <typename T>
std::vector<at::Tensor> forward_impl(const at::Tensor& inputs, const at::Tensor& bias, const at::Tensor& w,
                                     int64_t H, int64_t W) {
  const int64_t D = inputs.size(0), K = inputs.size(1), PB = inputs.size(2), G = w.size(1);
  const int64_t h = G / 4, B = PB / (H * W), R = (H + 1) * B;
  auto opts = inputs.options();
  auto acts = at::empty({D, G, PB}, opts);
  auto stacked = at::empty({D, 2 * h + K, PB}, opts);
  stacked.narrow(1, 2 * h, K).copy_(inputs);
  auto c_side = at::empty({D, h, PB}, opts);
  auto tanh_c = at::empty({D, h, PB}, opts);
  auto out = at::empty({D, h, PB}, opts);
  auto h_rows = at::zeros({D, h, R}, opts);  // latest h and c of each row, slot 0 is row -1
  auto c_rows = at::zeros({D, h, R}, opts);
  for (int64_t d = 0; d < D; ++d) {
    T* hr = h_rows.data_ptr<T>() + d * h * R;
    T* cr = c_rows.data_ptr<T>() + d * h * R;
    T* st = stacked.data_ptr<T>() + d * (2 * h + K) * PB;
    T* cs = c_side.data_ptr<T>() + d * h * PB;
    T* ap = acts.data_ptr<T>() + d * G * PB;
    T* tp = tanh_c.data_ptr<T>() + d * h * PB;
    T* op = out.data_ptr<T>() + d * h * PB;
    int64_t start = 0;
    for (int64_t k = 0; k < H + W - 1; ++k) {
      const int64_t n = diagonal_length(k, H, W), lo = std::max<int64_t>(0, k - W + 1);
      const int64_t col = start * B, len = n * B;
      for (int64_t q = 0; q < h; ++q) {
        std::copy_n(hr + q * R + lo * B, len, st + q * PB + col);
        std::copy_n(hr + q * R + (lo + 1) * B, len, st + (h + q) * PB + col);
        std::copy_n(cr + q * R + (lo + 1) * B, len, cs + q * PB + col);
      }
      auto a = acts[d].narrow(1, col, len);
      at::addmm_out(a, bias[d].unsqueeze(1).expand({G, len}), w[d], stacked[d].narrow(1, col, len));
      for (int64_t q = 0; q < h; ++q) {
        T* __restrict ai = ap + q * PB + col;
        T* __restrict af = ap + (h + q) * PB + col;
        T* __restrict ao = ap + (2 * h + q) * PB + col;
        T* __restrict ag = ap + (3 * h + q) * PB + col;
        const T* __restrict ck = cs + q * PB + col;
        T* __restrict tk = tp + q * PB + col;
        T* __restrict ok = op + q * PB + col;
        T* __restrict hk = hr + q * R + (lo + 1) * B;
        T* __restrict cn = cr + q * R + (lo + 1) * B;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) {
          const T i = sigmoid(ai[j]), f = sigmoid(af[j]), o = sigmoid(ao[j]), g = tanh_of(ag[j]);
          ai[j] = i;
          af[j] = f;
          ao[j] = o;
          ag[j] = g;
          const T c = f * ck[j] + i * g;
          const T t = tanh_of(c);
          tk[j] = t;
          ok[j] = o * t;
          hk[j] = o * t;
          cn[j] = c;
        }
      }
      start += n;
    }
  }
  return {out, acts, stacked, c_side, tanh_c};
}

// Gradients of inputs (D, K, P*B), bias (D, 4h) and w (D, 4h, 2h + K) from the gradient of out (D, h, P*B).
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& d_out, const at::Tensor& w, const at::Tensor& acts,
                                      const at::Tensor& stacked, const at::Tensor& c_side, const at::Tensor& tanh_c,
                                      int64_t H, int64_t W, bool weight_grad) {
  const int64_t D = acts.size(0), G = acts.size(1), PB = acts.size(2);
  const int64_t h = G / 4, B = PB / (H * W), R = (H + 1) * B, P = H * W, K = stacked.size(1) - 2 * h;
  auto opts = acts.options();
  auto d_gates = at::empty({D, G, PB}, opts);
  auto d_inputs = at::empty({D, K, PB}, opts);
  auto dh_rows = at::zeros({D, h, R}, opts);  // gradients reaching each row's latest h and c
  auto dc_rows = at::zeros({D, h, R}, opts);
  auto d_st = at::empty({2 * h + K, std::min(H, W) * B}, opts);
  for (int64_t d = 0; d < D; ++d) {
    T* dhr = dh_rows.data_ptr<T>() + d * h * R;
    T* dcr = dc_rows.data_ptr<T>() + d * h * R;
    const T* ap = acts.data_ptr<T>() + d * G * PB;
    const T* cs = c_side.data_ptr<T>() + d * h * PB;
    const T* tp = tanh_c.data_ptr<T>() + d * h * PB;
    const T* dop = d_out.data_ptr<T>() + d * h * PB;
    T* dgp = d_gates.data_ptr<T>() + d * G * PB;
    auto w_t = w[d].t();
    int64_t end = P;
    for (int64_t k = H + W - 2; k >= 0; --k) {
      const int64_t n = diagonal_length(k, H, W), lo = std::max<int64_t>(0, k - W + 1);
      const int64_t start = end - n, col = start * B, len = n * B;
      for (int64_t q = 0; q < h; ++q) {
        const T* __restrict ai = ap + q * PB + col;
        const T* __restrict af = ap + (h + q) * PB + col;
        const T* __restrict ao = ap + (2 * h + q) * PB + col;
        const T* __restrict ag = ap + (3 * h + q) * PB + col;
        const T* __restrict ck = cs + q * PB + col;
        const T* __restrict tk = tp + q * PB + col;
        const T* __restrict dok = dop + q * PB + col;
        const T* __restrict dhk = dhr + q * R + (lo + 1) * B;
        T* __restrict dck = dcr + q * R + (lo + 1) * B;
        T* __restrict di = dgp + q * PB + col;
        T* __restrict df = dgp + (h + q) * PB + col;
        T* __restrict dO = dgp + (2 * h + q) * PB + col;
        T* __restrict dg = dgp + (3 * h + q) * PB + col;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) {
          const T i = ai[j], f = af[j], o = ao[j], g = ag[j], t = tk[j];
          const T dh = dok[j] + dhk[j];
          const T dcv = dck[j] + dh * o * (T(1) - t * t);
          di[j] = dcv * g * i * (T(1) - i);
          df[j] = dcv * ck[j] * f * (T(1) - f);
          dO[j] = dh * t * o * (T(1) - o);
          dg[j] = dcv * i * (T(1) - g * g);
          dck[j] = dcv * f;  // to the cell on the left (same rows)
        }
      }
      auto ds = d_st.narrow(1, 0, len);
      at::mm_out(ds, w_t, d_gates[d].narrow(1, col, len));
      d_inputs[d].narrow(1, col, len).copy_(ds.narrow(0, 2 * h, K));
      const T* dsp = ds.data_ptr<T>();
      const int64_t ld = ds.stride(0);
      for (int64_t q = 0; q < h; ++q) {  // to the state on the left, then to the state above
        std::copy_n(dsp + (h + q) * ld, len, dhr + q * R + (lo + 1) * B);
        T* __restrict up = dhr + q * R + lo * B;
        const T* __restrict src = dsp + q * ld;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) up[j] += src[j];
      }
      end = start;
    }
  }
  at::Tensor d_w, d_bias;
  if (weight_grad) {
    d_w = at::bmm(d_gates, stacked.transpose(1, 2));
    d_bias = d_gates.sum(2);
  }
  return {d_inputs, d_bias, d_w};
}

void check(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be on the CPU");
  TORCH_CHECK(t.is_contiguous(), name, " must be contiguous");
}

std::vector<at::Tensor> diagonal_forward(at::Tensor inputs, at::Tensor bias, at::Tensor w, int64_t height,
                                         int64_t width) {
  check(inputs, "inputs");
  check(bias, "bias");
  check(w, "w");
  TORCH_CHECK(inputs.dim() == 3 && inputs.size(2) % (height * width) == 0, "inputs must be (D, K, H*W*B)");
  TORCH_CHECK(w.dim() == 3 && w.size(0) == inputs.size(0) && w.size(1) % 4 == 0 &&
                  w.size(2) == w.size(1) / 2 + inputs.size(1),
              "w must be (D, 4h, 2h + K)");
  TORCH_CHECK(bias.dim() == 2 && bias.size(0) == w.size(0) && bias.size(1) == w.size(1), "bias must be (D, 4h)");
  TORCH_CHECK(w.scalar_type() == inputs.scalar_type() && bias.scalar_type() == inputs.scalar_type(),
              "inputs, bias and w must share a dtype");
  std::vector<at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(inputs.scalar_type(), "diagonal_forward",
                             [&] { result = forward_impl<scalar_t>(inputs, bias, w, height, width); });
  return result;
}

std::vector<at::Tensor> diagonal_backward(at::Tensor d_out, at::Tensor w, at::Tensor acts, at::Tensor stacked,
                                          at::Tensor c_side, at::Tensor tanh_c, int64_t height, int64_t width,
                                          bool weight_grad) {
  for (auto* t : {&d_out, &w, &acts, &stacked, &c_side, &tanh_c}) check(*t, "every tensor");
  std::vector<at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "diagonal_backward", [&] {
    result = backward_impl<scalar_t>(d_out, w, acts, stacked, c_side, tanh_c, height, width, weight_grad);
  });
  return result;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("diagonal_forward", &diagonal_forward, "Diagonal LSTM recurrence of every direction, forward");
  m.def("diagonal_backward", &diagonal_backward, "Diagonal LSTM recurrence, backward through time");
}
