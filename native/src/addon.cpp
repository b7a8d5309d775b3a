// N-API bindings: check every argument (sizes, ranges) so kernels never read or write out of bounds,
// then call the op drivers. Outputs are caller-allocated typed arrays; nothing is copied.
#include <napi.h>
#include <sys/mman.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include "cpu.h"
#include "kernels.h"
#include "mmap.h"
#include "ops.h"
#include "pool.h"
#include "simd/convert.h"

namespace glm5 {
namespace {

struct Args {
  const Napi::CallbackInfo& info;
  const char* op;
  // When set, the arguments are this array's elements (one entry of a batched call), not the call's.
  const Napi::Array* list = nullptr;
  Napi::Env env() const { return info.Env(); }
  size_t size() const { return list ? list->Length() : info.Length(); }
  Napi::Value at(size_t i) const { return list ? list->Get(uint32_t(i)) : info[i]; }
  [[noreturn]] void fail(const std::string& m) const { throw Napi::TypeError::New(env(), std::string(op) + ": " + m); }
  [[noreturn]] void range(const std::string& m) const { throw Napi::RangeError::New(env(), std::string(op) + ": " + m); }
  Napi::TypedArray typed(size_t i, napi_typedarray_type t, const char* what) const {
    if (i >= size() || !at(i).IsTypedArray()) fail("argument " + std::to_string(i) + " must be a " + what);
    auto a = at(i).As<Napi::TypedArray>();
    if (a.TypedArrayType() != t) fail("argument " + std::to_string(i) + " must be a " + what);
    return a;
  }
  float* f32(size_t i, int64_t need) const {
    auto a = typed(i, napi_float32_array, "Float32Array").As<Napi::Float32Array>();
    if (int64_t(a.ElementLength()) < need) range("Float32Array argument " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) + " elements, need " + std::to_string(need));
    return a.Data();
  }
  int32_t* i32(size_t i, int64_t need) const {
    auto a = typed(i, napi_int32_array, "Int32Array").As<Napi::Int32Array>();
    if (int64_t(a.ElementLength()) < need) range("Int32Array argument " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) + " elements, need " + std::to_string(need));
    return a.Data();
  }
  // A cache array (argument i) of at least `need` elements: Float32Array (f32), Uint16Array (bf16 bits) or,
  // when fp8 is allowed, Uint8Array (e4m3 bytes).
  const void* cache(size_t i, int64_t need, Kv* type, bool fp8) const {
    if (i >= size() || !at(i).IsTypedArray()) fail("argument " + std::to_string(i) + " must be a typed array");
    auto t = at(i).As<Napi::TypedArray>();
    const napi_typedarray_type tt = t.TypedArrayType();
    if (tt == napi_float32_array) *type = Kv::F32;
    else if (tt == napi_uint16_array) *type = Kv::BF16;
    else if (tt == napi_uint8_array && fp8) *type = Kv::FP8;
    else fail("argument " + std::to_string(i) + (fp8 ? " must be a Float32Array, Uint16Array (bf16) or Uint8Array (fp8)" : " must be a Float32Array or Uint16Array (bf16)"));
    if (int64_t(t.ElementLength()) < need) range("cache argument " + std::to_string(i) + " has " + std::to_string(t.ElementLength()) + " elements, need " + std::to_string(need));
    return static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  }
  bool isNull(size_t i) const { return i >= size() || at(i).IsNull() || at(i).IsUndefined(); }
  double num(size_t i) const {
    if (i >= size() || !at(i).IsNumber()) fail("argument " + std::to_string(i) + " must be a number");
    return at(i).As<Napi::Number>().DoubleValue();
  }
  int64_t cnt(size_t i) const {  // a non-negative integer
    const double v = num(i);
    if (!(v >= 0) || v != std::floor(v) || v > 9.0e15) range("argument " + std::to_string(i) + " must be a non-negative integer");
    return int64_t(v);
  }
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Outputs are fresh typed arrays, usually not yet backed by pages: first-touch faults inside the kernels cost
// ~7-12 µs per 4 KiB page on this VM (a 2 MB output: 3-4 ms, 40x the rmsNorm itself). One
// madvise(MADV_POPULATE_WRITE) maps the whole range ~4x faster. Best effort: errors (old kernels) are ignored.
float* prefault(float* p, int64_t n) {
#if defined(__linux__)
  constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE (Linux 5.14+)
  const int64_t bytes = n * int64_t(sizeof(float));
  if (bytes >= (256 << 10)) {
    const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + 4095) & ~uintptr_t(4095);
    const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + uintptr_t(bytes)) & ~uintptr_t(4095);
    if (e > b) madvise(reinterpret_cast<void*>(b), e - b, kPopulateWrite);
  }
#endif
  return p;
}

void checkWeight(const Args& a, const WeightRef& w, int64_t scalesLen, int64_t dataLen) {
  if (int64_t(w.fmt) < 0 || int64_t(w.fmt) > 5) a.fail("unknown weight format");
  if (w.rows < 0 || w.cols < 0 || dataLen < w.rows * w.rowBytes()) a.range("weight data too short for its shape");
  if (w.fmt == Fmt::FP8) {
    if (w.br < 1 || w.bc < 1) a.range("fp8 weight needs blockRows, blockCols ≥ 1");
    if (!w.scales || scalesLen < ceilDiv(w.rows + w.rowOffset, w.br) * ceilDiv(w.cols, w.bc)) a.range("fp8 weight scales too short");
  } else if (w.fmt == Fmt::INT8) {
    if (!w.scales || scalesLen < w.rows * ceilDiv(w.cols, INT8_GROUP)) a.range("int8 weight scales too short");
  } else if (w.fmt == Fmt::INT4) {
    if (!w.hscales || scalesLen < w.rows * ceilDiv(w.cols, INT4_GROUP)) a.range("int4 weight scales (Uint16Array) too short");
  }
}

// Scales: a Float32Array (fp8, int8) or a Uint16Array of f16 bits (int4); sets the pointer, returns the length.
int64_t scalesOf(const Args& a, Napi::Value s, WeightRef& w) {
  if (!s.IsTypedArray()) return 0;
  auto t = s.As<Napi::TypedArray>();
  if (w.fmt == Fmt::INT4) {
    if (t.TypedArrayType() != napi_uint16_array) a.fail("int4 weight scales must be a Uint16Array");
    w.hscales = s.As<Napi::Uint16Array>().Data();
    return int64_t(t.ElementLength());
  }
  if (t.TypedArrayType() != napi_float32_array) a.fail("weight scales must be a Float32Array");
  w.scales = s.As<Napi::Float32Array>().Data();
  return int64_t(t.ElementLength());
}

// Weight from positional args [data, fmt, rows, cols, scales|null, blockRows, blockCols, rowOffset].
WeightRef weightAt(const Args& a, size_t i) {
  WeightRef w{};
  auto d = a.typed(i, napi_uint8_array, "Uint8Array").As<Napi::Uint8Array>();
  w.fmt = Fmt(int(a.num(i + 1)));
  w.rows = a.cnt(i + 2), w.cols = a.cnt(i + 3);
  w.data = d.Data();
  int64_t scalesLen = 0;
  if (!a.isNull(i + 4)) {
    if (!a.info[i + 4].IsTypedArray()) a.fail("argument " + std::to_string(i + 4) + " must be a typed array of scales");
    scalesLen = scalesOf(a, a.info[i + 4], w);
  }
  w.br = a.isNull(i + 5) ? 1 : a.cnt(i + 5);
  w.bc = a.isNull(i + 6) ? 1 : a.cnt(i + 6);
  w.rowOffset = a.isNull(i + 7) ? 0 : a.cnt(i + 7);
  checkWeight(a, w, scalesLen, int64_t(d.ElementLength()));
  return w;
}

// Weight from a LinearWeight object (MoE expert lists).
WeightRef weightObj(const Args& a, Napi::Value v) {
  if (!v.IsObject()) a.fail("expert weights must be LinearWeight objects");
  Napi::Object o = v.As<Napi::Object>();
  static const char* names[] = {"f32", "bf16", "f16", "fp8", "int8", "int4"};
  const std::string f = o.Get("format").As<Napi::String>().Utf8Value();
  WeightRef w{};
  int fi = -1;
  for (int i = 0; i < 6; i++)
    if (f == names[i]) fi = i;
  if (fi < 0) a.fail("unknown weight format " + f);
  w.fmt = Fmt(fi);
  w.rows = int64_t(o.Get("rows").As<Napi::Number>().DoubleValue());
  w.cols = int64_t(o.Get("cols").As<Napi::Number>().DoubleValue());
  Napi::Value d = o.Get("data");
  if (!d.IsTypedArray() || d.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) a.fail("weight data must be a Uint8Array");
  auto du = d.As<Napi::Uint8Array>();
  w.data = du.Data();
  const int64_t scalesLen = scalesOf(a, o.Get(w.fmt == Fmt::INT4 ? "halfScales" : "scales"), w);
  auto opt = [&](const char* k, int64_t dflt) {
    Napi::Value x = o.Get(k);
    return x.IsNumber() ? int64_t(x.As<Napi::Number>().DoubleValue()) : dflt;
  };
  w.br = opt("blockRows", 1), w.bc = opt("blockCols", 1), w.rowOffset = opt("rowOffset", 0);
  checkWeight(a, w, scalesLen, int64_t(du.ElementLength()));
  return w;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a{info, "matmul"};
  const int64_t T = a.cnt(2);
  const WeightRef w = weightAt(a, 3);
  const float* x = a.f32(1, T * w.cols);
  float* y = prefault(a.f32(0, T * w.rows), T * w.rows);
  matmul(w, x, T, y);
  return info.Env().Undefined();
}

// matmulMany(outs: Float32Array[], x, T, weights: LinearWeight[]): every weight the same cols.
Napi::Value MatmulMany(const Napi::CallbackInfo& info) {
  Args a{info, "matmulMany"};
  const int64_t T = a.cnt(2);
  if (info.Length() <= 3 || !info[3].IsArray() || !info[0].IsArray()) a.fail("arguments 0 and 3 must be arrays (outputs, weights)");
  Napi::Array wa = info[3].As<Napi::Array>(), oa = info[0].As<Napi::Array>();
  if (wa.Length() == 0 || oa.Length() != wa.Length()) a.range("need one output per weight and at least one weight");
  std::vector<WeightRef> ws(wa.Length());
  std::vector<float*> ys(wa.Length());
  for (uint32_t i = 0; i < wa.Length(); i++) {
    ws[i] = weightObj(a, wa.Get(i));
    if (ws[i].cols != ws[0].cols) a.range("weights differ in cols");
    Napi::Value o = oa.Get(i);
    if (!o.IsTypedArray() || o.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) a.fail("outputs must be Float32Arrays");
    auto f = o.As<Napi::Float32Array>();
    if (int64_t(f.ElementLength()) < T * ws[i].rows) a.range("output " + std::to_string(i) + " too short");
    ys[i] = prefault(f.Data(), T * ws[i].rows);
  }
  matmulMany(ws.data(), int64_t(ws.size()), a.f32(1, T * ws[0].cols), T, ys.data());
  return info.Env().Undefined();
}

Napi::Value MatmulT(const Napi::CallbackInfo& info) {
  Args a{info, "matmulT"};
  const int64_t T = a.cnt(2);
  const WeightRef w = weightAt(a, 3);
  const float* x = a.f32(1, T * w.rows);
  float* y = prefault(a.f32(0, T * w.cols), T * w.cols);
  matmulT(w, x, T, y);
  return info.Env().Undefined();
}

// headMatmul(out, x, xStride, xOffset, T, heads, headRows, rowStart, n, transposed, ...weight)
Napi::Value HeadMatmul(const Napi::CallbackInfo& info) {
  Args a{info, "headMatmul"};
  HeadMatmulArgs r{};
  r.xStride = a.cnt(2), r.xOffset = a.cnt(3), r.T = a.cnt(4), r.heads = a.cnt(5);
  r.headRows = a.cnt(6), r.rowStart = a.cnt(7), r.n = a.cnt(8);
  if (info.Length() <= 9 || !info[9].IsBoolean()) a.fail("argument 9 must be a boolean");
  r.transposed = info[9].As<Napi::Boolean>().Value();
  r.w = weightAt(a, 10);
  if (r.heads && r.rowStart + (r.heads - 1) * r.headRows + r.n > r.w.rows) a.range("head row blocks exceed the weight's rows");
  const int64_t inW = r.transposed ? r.n : r.w.cols, outW = r.transposed ? r.w.cols : r.n;
  const int64_t need = (r.T && r.heads && inW) ? r.xOffset + (r.T * r.heads - 1) * r.xStride + inW : 0;
  r.x = a.f32(1, need);
  headMatmul(r, prefault(a.f32(0, r.T * r.heads * outW), r.T * r.heads * outW));
  return info.Env().Undefined();
}

Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args a{info, "gatherRows"};
  const WeightRef w = weightAt(a, 2);
  auto ids = a.typed(1, napi_int32_array, "Int32Array").As<Napi::Int32Array>();
  const int64_t n = int64_t(ids.ElementLength());
  const int32_t* idp = ids.Data();
  for (int64_t i = 0; i < n; i++)
    if (idp[i] < 0 || idp[i] >= w.rows) a.range("token id " + std::to_string(idp[i]) + " out of range [0, " + std::to_string(w.rows) + ")");
  float* out = a.f32(0, n * w.cols);
  gatherRows(w, ids.Data(), n, out);
  return info.Env().Undefined();
}

// quantizeInt4(outData: Uint8Array, outScales: Uint16Array, ...weight): src/tensor/int4.ts's quantiser.
Napi::Value QuantizeInt4(const Napi::CallbackInfo& info) {
  Args a{info, "quantizeInt4"};
  const WeightRef w = weightAt(a, 2);
  if (w.fmt == Fmt::INT4) a.fail("the weight is int4 already");
  auto d = a.typed(0, napi_uint8_array, "Uint8Array").As<Napi::Uint8Array>();
  auto s = a.typed(1, napi_uint16_array, "Uint16Array").As<Napi::Uint16Array>();
  WeightRef q = w;
  q.fmt = Fmt::INT4;
  if (int64_t(d.ElementLength()) != w.rows * q.rowBytes()) a.range("output data must have rows·ceil(cols/64)·32 bytes");
  if (int64_t(s.ElementLength()) != w.rows * ceilDiv(w.cols, INT4_GROUP)) a.range("output scales must have rows·ceil(cols/32) elements");
  quantizeInt4(w, d.Data(), s.Data());
  return info.Env().Undefined();
}

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Args a{info, "rmsNorm"};
  const int64_t T = a.cnt(2), D = a.cnt(3);
  rmsNorm(a.f32(1, T * D), T, D, a.f32(4, D), a.num(5), prefault(a.f32(0, T * D), T * D));
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args a{info, "layerNorm"};
  const int64_t T = a.cnt(2), D = a.cnt(3);
  layerNorm(a.f32(1, T * D), T, D, a.f32(4, D), a.f32(5, D), a.num(6), prefault(a.f32(0, T * D), T * D));
  return info.Env().Undefined();
}

Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a{info, "rope"};
  RopeArgs r{};
  r.T = a.cnt(1), r.rowStride = a.cnt(2), r.offset = a.cnt(3), r.heads = a.cnt(4), r.headStride = a.cnt(5), r.dim = a.cnt(6);
  if (r.dim % 2) a.range("rotary dim must be even");
  r.positions = a.i32(7, r.T);
  r.theta = a.num(8);
  if (info.Length() <= 9 || !info[9].IsBoolean()) a.fail("argument 9 must be a boolean");
  r.interleaved = info[9].As<Napi::Boolean>().Value();
  const int64_t need = (r.T && r.heads && r.dim) ? (r.T - 1) * r.rowStride + r.offset + (r.heads - 1) * r.headStride + r.dim : 0;
  r.x = a.f32(0, need);
  rope(r);
  return info.Env().Undefined();
}

Napi::Value SiluMul(const Napi::CallbackInfo& info) {
  Args a{info, "siluMul"};
  auto g = a.typed(1, napi_float32_array, "Float32Array").As<Napi::Float32Array>();
  const int64_t n = int64_t(g.ElementLength());
  siluMul(g.Data(), a.f32(2, n), n, prefault(a.f32(0, n), n));
  return info.Env().Undefined();
}

Napi::Value AddInPlace(const Napi::CallbackInfo& info) {
  Args a{info, "addInPlace"};
  auto x = a.typed(0, napi_float32_array, "Float32Array").As<Napi::Float32Array>();
  const int64_t n = int64_t(x.ElementLength());
  addInPlace(x.Data(), a.f32(1, n), n);
  return info.Env().Undefined();
}

Napi::Value CopyBlocks(const Napi::CallbackInfo& info) {
  Args a{info, "copyBlocks"};
  const int64_t so = a.cnt(1), srs = a.cnt(2), sbs = a.cnt(3), dOff = a.cnt(5), drs = a.cnt(6), dbs = a.cnt(7);
  const int64_t rows = a.cnt(8), blocks = a.cnt(9), n = a.cnt(10);
  if (rows == 0 || blocks == 0 || n == 0) return info.Env().Undefined();
  // Every element read and written lies below the highest (row, block) start + n.
  const float* src = a.f32(0, so + (rows - 1) * srs + (blocks - 1) * sbs + n) + so;
  float* dst = a.f32(4, dOff + (rows - 1) * drs + (blocks - 1) * dbs + n) + dOff;
  copyBlocks(src, srs, sbs, dst, drs, dbs, rows, blocks, n);
  return info.Env().Undefined();
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args a{info, "softmax"};
  const int64_t T = a.cnt(1), N = a.cnt(2);
  softmax(a.f32(0, T * N), T, N);
  return info.Env().Undefined();
}

Napi::Value Topk(const Napi::CallbackInfo& info) {
  Args a{info, "topk"};
  const int64_t T = a.cnt(2), N = a.cnt(3), k = a.cnt(4);
  if (k > N) a.range("k=" + std::to_string(k) + " > N=" + std::to_string(N));
  topk(a.f32(1, T * N), T, N, k, a.i32(0, T * k));
  return info.Env().Undefined();
}

// A block table (argument i) and block size (i + 1) covering logical keys [0, L): checked, stored, and the
// physical rows the kernels may then read (one past the largest block).
int64_t pagedRows(const Args& a, size_t i, int64_t L, const int32_t** table, int64_t* blockSize) {
  *blockSize = a.cnt(i + 1);
  if (*blockSize < 1) a.range("blockSize must be ≥ 1");
  const int64_t nb = ceilDiv(L, *blockSize);
  *table = a.i32(i, nb);
  int64_t maxBlock = -1;
  for (int64_t b = 0; b < nb; b++) {
    if ((*table)[b] < 0) a.range("block table entry " + std::to_string(b) + " is negative");
    maxBlock = std::max<int64_t>(maxBlock, (*table)[b]);
  }
  return (maxBlock + 1) * *blockSize;
}

Napi::Value ReadCache(const Napi::CallbackInfo& info) {
  Args a{info, "readCache"};
  const int64_t width = a.cnt(2), L = a.cnt(3), from = a.cnt(4), n = a.cnt(5);
  if (from + n > width) a.range("columns [" + std::to_string(from) + ", " + std::to_string(from + n) + ") outside a row of " + std::to_string(width));
  const int32_t* table = nullptr;
  int64_t B = 0, rows = L;
  if (!a.isNull(6)) rows = pagedRows(a, 6, L, &table, &B);
  Kv t;
  const void* data = a.cache(1, rows * width, &t, false);
  readCache(data, t, width, L, from, n, table, B, prefault(a.f32(0, L * n), L * n));
  return info.Env().Undefined();
}

// attention's arguments (out, q, k, kStride, kOffset, v, vStride, vOffset, T, L, heads, kvHeads, dk, dv,
// scale, keyLimit, indices | null, K, table | null, blockSize), checked.
static AttentionArgs attentionArgs(const Args& a, float** out) {
  AttentionArgs r{};
  r.kStride = a.cnt(3), r.kOffset = a.cnt(4), r.vStride = a.cnt(6), r.vOffset = a.cnt(7);
  r.T = a.cnt(8), r.L = a.cnt(9), r.heads = a.cnt(10), r.kvHeads = a.cnt(11), r.dk = a.cnt(12), r.dv = a.cnt(13);
  r.scale = float(a.num(14));
  if (r.kvHeads == 0 || r.heads % r.kvHeads) a.range("heads must be a multiple of kvHeads");
  r.q = a.f32(1, r.T * r.heads * r.dk);
  int64_t kNeed = r.L ? r.kOffset + (r.L - 1) * r.kStride + r.kvHeads * r.dk : 0;
  int64_t vNeed = r.L ? r.vOffset + (r.L - 1) * r.vStride + r.kvHeads * r.dv : 0;
  r.keyLimit = a.i32(15, r.T);
  if (!a.isNull(16)) {
    r.K = a.cnt(17);
    r.indices = a.i32(16, r.T * r.K);
  }
  if (!a.isNull(18)) {
    // Paged: every block the logical keys [0, L) use must lie inside k and v.
    const int64_t rows = pagedRows(a, 18, r.L, &r.table, &r.blockSize);
    kNeed = r.L ? r.kOffset + (rows - 1) * r.kStride + r.kvHeads * r.dk : 0;
    vNeed = r.L ? r.vOffset + (rows - 1) * r.vStride + r.kvHeads * r.dv : 0;
  }
  Kv vt;
  r.k = a.cache(2, kNeed, &r.kv, false);
  r.v = a.cache(5, vNeed, &vt, false);
  if (vt != r.kv) a.fail("k and v must have the same element type");
  *out = prefault(a.f32(0, r.T * r.heads * r.dv), r.T * r.heads * r.dv);
  return r;
}

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Args a{info, "attention"};
  float* out = nullptr;
  const AttentionArgs r = attentionArgs(a, &out);
  int64_t bad = 0;
  if (!attention(r, out, &bad)) a.range("key " + std::to_string(bad) + " ≥ L=" + std::to_string(r.L));
  return info.Env().Undefined();
}

// attentionMany([args, ...]): each entry an array of attention's arguments.
Napi::Value AttentionMany(const Napi::CallbackInfo& info) {
  Args top{info, "attentionMany"};
  if (info.Length() < 1 || !info[0].IsArray()) top.fail("argument 0 must be an array of argument arrays");
  const Napi::Array list = info[0].As<Napi::Array>();
  const uint32_t count = list.Length();
  std::vector<AttentionArgs> rs(count);
  std::vector<float*> outs(count);
  std::vector<Napi::Array> entries;  // kept alive while rs points into their typed arrays
  entries.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    const Napi::Value e = list.Get(i);
    if (!e.IsArray()) top.fail("entry " + std::to_string(i) + " must be an array of attention arguments");
    entries.push_back(e.As<Napi::Array>());
    Args a{info, "attentionMany", &entries.back()};
    rs[i] = attentionArgs(a, &outs[i]);
  }
  int64_t seq = 0, bad = 0;
  if (!attentionMany(rs.data(), outs.data(), int64_t(count), &seq, &bad))
    top.range("entry " + std::to_string(seq) + ": key " + std::to_string(bad) + " ≥ L=" + std::to_string(rs[size_t(seq)].L));
  return info.Env().Undefined();
}

Napi::Value IndexerTopk(const Napi::CallbackInfo& info) {
  Args a{info, "indexerTopk"};
  IndexerArgs r{};
  r.T = a.cnt(4), r.L = a.cnt(5), r.heads = a.cnt(6), r.dim = a.cnt(7);
  r.scale = float(a.num(8));
  r.topk = a.cnt(10);
  r.q = a.f32(1, r.T * r.heads * r.dim);
  r.weights = a.f32(2, r.T * r.heads);
  int64_t keyRows = r.L;
  if (!a.isNull(11)) keyRows = pagedRows(a, 11, r.L, &r.table, &r.blockSize);
  r.keys = a.cache(3, keyRows * r.dim, &r.keyType, true);
  if (r.keyType == Kv::FP8) r.keyScales = a.f32(13, keyRows * ceilDiv(r.dim, KV_SCALE_BLOCK));
  r.keyLimit = a.i32(9, r.T);
  indexerTopk(r, a.i32(0, r.T * std::min(r.topk, r.L)));
  return info.Env().Undefined();
}

// Expert weights as (gate, up, down) triples, converted and checked once: reading a LinearWeight object
// through N-API costs ~1 µs (27 of them per decode step and layer). A table stores raw pointers into its
// weights' buffers: the caller keeps the expert objects (and so their buffers) alive while it is used.
struct ExpertTable {
  std::vector<WeightRef> w;
  int64_t D = -1;  // hidden size every expert fits (-1: no experts)
};

ExpertTable expertTable(const Args& a, Napi::Array ex) {
  if (ex.Length() % 3) a.fail("expert weights come in (gate, up, down) triples");
  ExpertTable t;
  t.w.resize(ex.Length());
  for (uint32_t i = 0; i < ex.Length(); i++) t.w[i] = weightObj(a, ex.Get(i));
  for (size_t e = 0; 3 * e < t.w.size(); e++) {
    const WeightRef &g = t.w[3 * e], &u = t.w[3 * e + 1], &d = t.w[3 * e + 2];
    if (t.D < 0) t.D = g.cols;
    if (g.cols != t.D || u.cols != t.D || u.rows != g.rows || d.rows != t.D || d.cols != g.rows)
      a.range("expert " + std::to_string(e) + " shapes do not fit D=" + std::to_string(t.D));
    // gate and up read one input panel: its activations are rounded (int4) for both or for neither
    if (roundsActivations(g.fmt) != roundsActivations(u.fmt)) a.fail("expert " + std::to_string(e) + ": gate and up must both be int4 or neither");
  }
  return t;
}

// moeTable(experts: LinearWeight[]) → an opaque table for moe().
Napi::Value MoeTable(const Napi::CallbackInfo& info) {
  Args a{info, "moeTable"};
  if (info.Length() < 1 || !info[0].IsArray()) a.fail("argument 0 must be an array of expert weights");
  auto* t = new ExpertTable(expertTable(a, info[0].As<Napi::Array>()));
  return Napi::External<ExpertTable>::New(info.Env(), t, [](Napi::Env, ExpertTable* p) { delete p; });
}

// moe(out, x, T, D, experts: table | LinearWeight[], ids, weights, k)
Napi::Value Moe(const Napi::CallbackInfo& info) {
  Args a{info, "moe"};
  const int64_t T = a.cnt(2), D = a.cnt(3), k = a.cnt(7);
  ExpertTable local;
  const ExpertTable* t = nullptr;
  if (info.Length() > 4 && info[4].IsExternal()) {
    t = info[4].As<Napi::External<ExpertTable>>().Data();
  } else {
    if (info.Length() <= 4 || !info[4].IsArray()) a.fail("argument 4 must be an expert table or an array of expert weights");
    local = expertTable(a, info[4].As<Napi::Array>());
    t = &local;
  }
  const int64_t E = int64_t(t->w.size()) / 3;
  if (E > 0 && t->D != D) a.range("experts fit D=" + std::to_string(t->D) + ", not D=" + std::to_string(D));
  const int32_t* ids = a.i32(5, T * k);
  for (int64_t i = 0; i < T * k; i++)
    if (ids[i] < 0 || ids[i] >= E) a.range("expert id " + std::to_string(ids[i]) + " out of range");
  MoeArgs r{a.f32(1, T * D), T, D, t->w.data(), E, ids, a.f32(6, T * k), k};
  moe(r, prefault(a.f32(0, T * D), T * D));
  return info.Env().Undefined();
}

Napi::Value CpuFeatureNames(const Napi::CallbackInfo& info) {
  auto names = cpu().names();
  Napi::Array arr = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) arr.Set(uint32_t(i), names[i]);
  return arr;
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), poolThreads()); }

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setIsa(name: string)");
  const std::string n = info[0].As<Napi::String>().Utf8Value();
  if (!setIsa(n.c_str())) throw Napi::Error::New(info.Env(), "setIsa: '" + n + "' is unknown or not supported by this CPU");
  return Napi::String::New(info.Env(), K().name);
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), K().name); }

Napi::Value Isas(const Napi::CallbackInfo& info) {
  std::vector<std::string> v{"scalar"};
  if (cpu().canAvx2() && kernelsAvx2()) v.push_back("avx2");
  if (cpu().canAvx512() && kernelsAvx512()) v.push_back("avx512");
  Napi::Array arr = Napi::Array::New(info.Env(), v.size());
  for (size_t i = 0; i < v.size(); i++) arr.Set(uint32_t(i), v[i]);
  return arr;
}

Napi::Value Bandwidth(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), measureBandwidth()); }
Napi::Value FmaPeak(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), measureFmaPeak()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) { exports.Set(name, Napi::Function::New(env, f, name)); };
  fn("mmapFile", mmapFile);
  fn("matmul", Matmul);
  fn("matmulT", MatmulT);
  fn("headMatmul", HeadMatmul);
  fn("gatherRows", GatherRows);
  fn("quantizeInt4", QuantizeInt4);
  fn("releasePages", releasePages);
  fn("rmsNorm", RmsNorm);
  fn("layerNorm", LayerNorm);
  fn("rope", Rope);
  fn("siluMul", SiluMul);
  fn("addInPlace", AddInPlace);
  fn("copyBlocks", CopyBlocks);
  fn("readCache", ReadCache);
  fn("matmulMany", MatmulMany);
  fn("softmax", Softmax);
  fn("topk", Topk);
  fn("attention", Attention);
  fn("attentionMany", AttentionMany);
  fn("indexerTopk", IndexerTopk);
  fn("moe", Moe);
  fn("moeTable", MoeTable);
  fn("cpuFeatures", CpuFeatureNames);
  fn("threads", Threads);
  fn("setIsa", SetIsa);
  fn("isa", Isa);
  fn("isas", Isas);
  fn("measureBandwidth", Bandwidth);
  fn("measureFmaPeak", FmaPeak);
  return exports;
}

}  // namespace
}  // namespace glm5

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return glm5::Init(env, exports); }
NODE_API_MODULE(glm5_native, InitModule)
