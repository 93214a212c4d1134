// The Row LSTM recurrence in one call per layer: every row's state-to-state product and fused gate
// arithmetic forward, and backward through time, for float and double (bf16 runs here in float).
//
// Built at first use by zoo.native (see recurrence.py for the layout and for the PyTorch path this
// replaces). Per row the state-to-state conv is one matrix product (ATen's GEMM) over windows of the
// row above; everything elementwise (four gate activations, cell, tanh, output; and their gradients)
// is one loop over the row that the compiler vectorises. The windows of every row are kept, so the
// weight's gradient is one product over all rows at the end.

#include <torch/extension.h>

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

// gates_in (4h, H, N), w (4h, 3h), N = B * width. Returns out, acts, cells, tanh_c (H, ., N) and the
// windows (3h, H, N): row r's windows hold row r - 1's states at columns w-1, w, w+1 (zeros at the
// edges and for row 0), in the Conv1d weight's order (channel-major, tap-minor).
template <typename T>
std::vector<at::Tensor> forward_impl(const at::Tensor& gates_in, const at::Tensor& w, int64_t width) {
  const int64_t G = gates_in.size(0), H = gates_in.size(1), N = gates_in.size(2);
  const int64_t h = G / 4, W = width, B = N / width;
  auto opts = gates_in.options();
  auto acts = at::empty({H, G, N}, opts);
  auto cells = at::empty({H, h, N}, opts);
  auto tanh_c = at::empty({H, h, N}, opts);
  auto out = at::empty({H, h, N}, opts);
  auto wins = at::zeros({3 * h, H, N}, opts);
  T* wp = wins.data_ptr<T>();
  const std::vector<T> zeros(h * N, T(0));
  const T* zero_row = zeros.data();
  for (int64_t r = 0; r < H; ++r) {
    auto a = acts.select(0, r);
    if (r == 0) {
      a.copy_(gates_in.select(1, 0));
    } else {
      const T* hp = out.data_ptr<T>() + (r - 1) * h * N;
      for (int64_t k = 0; k < h; ++k) {
        const T* hk = hp + k * N;
        T* w0 = wp + ((3 * k + 0) * H + r) * N;
        T* w1 = wp + ((3 * k + 1) * H + r) * N;
        T* w2 = wp + ((3 * k + 2) * H + r) * N;
        for (int64_t b = 0; b < B; ++b) {
          const int64_t o = b * W;
          for (int64_t x = 1; x < W; ++x) w0[o + x] = hk[o + x - 1];
          for (int64_t x = 0; x < W; ++x) w1[o + x] = hk[o + x];
          for (int64_t x = 0; x + 1 < W; ++x) w2[o + x] = hk[o + x + 1];
        }
      }
      at::addmm_out(a, gates_in.select(1, r), w, wins.select(1, r));
    }
    T* ap = a.data_ptr<T>();
    T* cp = cells.data_ptr<T>() + r * h * N;
    const T* cprev = r ? cp - h * N : zero_row;  // the cell above row 0 is zero
    T* tp = tanh_c.data_ptr<T>() + r * h * N;
    T* op = out.data_ptr<T>() + r * h * N;
    for (int64_t k = 0; k < h; ++k) {
      T* __restrict ai = ap + k * N;
      T* __restrict af = ap + (h + k) * N;
      T* __restrict ao = ap + (2 * h + k) * N;
      T* __restrict ag = ap + (3 * h + k) * N;
      T* __restrict ck = cp + k * N;
      T* __restrict tk = tp + k * N;
      T* __restrict ok = op + k * N;
      const T* __restrict pk = cprev + k * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) {
        const T i = sigmoid(ai[n]), f = sigmoid(af[n]), o = sigmoid(ao[n]), g = tanh_of(ag[n]);
        ai[n] = i;
        af[n] = f;
        ao[n] = o;
        ag[n] = g;
        const T c = f * pk[n] + i * g;
        const T t = tanh_of(c);
        ck[n] = c;
        tk[n] = t;
        ok[n] = o * t;
      }
    }
  }
  return {out, acts, cells, tanh_c, wins};
}

// Gradients of gates_in (4h, H, N) and of w (4h, 3h) from the gradient of out (H, h, N).
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& d_out, const at::Tensor& w, const at::Tensor& acts,
                                      const at::Tensor& cells, const at::Tensor& tanh_c, const at::Tensor& wins,
                                      int64_t width, bool weight_grad) {
  const int64_t H = acts.size(0), G = acts.size(1), N = acts.size(2);
  const int64_t h = G / 4, W = width, B = N / width;
  auto opts = acts.options();
  auto d_gates = at::empty({G, H, N}, opts);
  auto dh_rec = at::zeros({h, N}, opts);
  auto dc = at::zeros({h, N}, opts);
  auto d_win = at::empty({3 * h, N}, opts);
  auto w_t = w.t();
  T* dgp = d_gates.data_ptr<T>();
  T* dhp = dh_rec.data_ptr<T>();
  T* dcp = dc.data_ptr<T>();
  const std::vector<T> zeros(h * N, T(0));
  for (int64_t r = H - 1; r >= 0; --r) {
    const T* ap = acts.data_ptr<T>() + r * G * N;
    const T* tp = tanh_c.data_ptr<T>() + r * h * N;
    const T* dop = d_out.data_ptr<T>() + r * h * N;
    const T* cprev = r ? cells.data_ptr<T>() + (r - 1) * h * N : zeros.data();  // no forget gradient in row 0
    for (int64_t k = 0; k < h; ++k) {
      const T* __restrict ai = ap + k * N;
      const T* __restrict af = ap + (h + k) * N;
      const T* __restrict ao = ap + (2 * h + k) * N;
      const T* __restrict ag = ap + (3 * h + k) * N;
      const T* __restrict tk = tp + k * N;
      const T* __restrict dok = dop + k * N;
      const T* __restrict pk = cprev + k * N;
      T* __restrict di = dgp + (k * H + r) * N;
      T* __restrict df = dgp + ((h + k) * H + r) * N;
      T* __restrict dO = dgp + ((2 * h + k) * H + r) * N;
      T* __restrict dg = dgp + ((3 * h + k) * H + r) * N;
      const T* __restrict dhk = dhp + k * N;
      T* __restrict dck = dcp + k * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) {
        const T i = ai[n], f = af[n], o = ao[n], g = ag[n], t = tk[n];
        const T dh = dok[n] + dhk[n];
        const T dcv = dck[n] + dh * o * (T(1) - t * t);
        di[n] = dcv * g * i * (T(1) - i);
        df[n] = dcv * pk[n] * f * (T(1) - f);
        dO[n] = dh * t * o * (T(1) - o);
        dg[n] = dcv * i * (T(1) - g * g);
        dck[n] = dcv * f;
      }
    }
    if (r) {  // fold the windows' gradient back onto the row above
      at::mm_out(d_win, w_t, d_gates.select(1, r));
      const T* dwp = d_win.data_ptr<T>();
      for (int64_t k = 0; k < h; ++k) {
        const T* w0 = dwp + (3 * k + 0) * N;
        const T* w1 = dwp + (3 * k + 1) * N;
        const T* w2 = dwp + (3 * k + 2) * N;
        T* dhk = dhp + k * N;
        for (int64_t b = 0; b < B; ++b) {
          const int64_t o = b * W;
          for (int64_t x = 0; x < W; ++x) dhk[o + x] = w1[o + x];
          for (int64_t x = 0; x + 1 < W; ++x) dhk[o + x] += w0[o + x + 1];
          for (int64_t x = 1; x < W; ++x) dhk[o + x] += w2[o + x - 1];
        }
      }
    }
  }
  at::Tensor d_w;
  if (weight_grad) d_w = at::mm(d_gates.view({G, H * N}), wins.view({3 * h, H * N}).t());
  return {d_gates, d_w};
}

void check(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), name, " must be on the CPU");
  TORCH_CHECK(t.is_contiguous(), name, " must be contiguous");
}

std::vector<at::Tensor> row_forward(at::Tensor gates_in, at::Tensor w, int64_t width) {
  check(gates_in, "gates_in");
  check(w, "w_state");
  TORCH_CHECK(gates_in.dim() == 3 && gates_in.size(0) % 4 == 0 && gates_in.size(2) % width == 0,
              "gates_in must be (4h, H, B*width)");
  TORCH_CHECK(w.dim() == 2 && w.size(0) == gates_in.size(0) && w.size(1) * 4 == 3 * gates_in.size(0),
              "w_state must be (4h, 3h)");
  TORCH_CHECK(w.scalar_type() == gates_in.scalar_type(), "w_state and gates_in must share a dtype");
  std::vector<at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(gates_in.scalar_type(), "row_forward",
                             [&] { result = forward_impl<scalar_t>(gates_in, w, width); });
  return result;
}

std::vector<at::Tensor> row_backward(at::Tensor d_out, at::Tensor w, at::Tensor acts, at::Tensor cells,
                                     at::Tensor tanh_c, at::Tensor wins, int64_t width, bool weight_grad) {
  for (auto* t : {&d_out, &w, &acts, &cells, &tanh_c, &wins}) check(*t, "every tensor");
  std::vector<at::Tensor> result;
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "row_backward", [&] {
    result = backward_impl<scalar_t>(d_out, w, acts, cells, tanh_c, wins, width, weight_grad);
  });
  return result;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("row_forward", &row_forward, "Row LSTM recurrence, forward");
  m.def("row_backward", &row_backward, "Row LSTM recurrence, backward through time");
}
