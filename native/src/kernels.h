// The ISA-specific kernel table and the weight descriptor the drivers hand to it.
// One table per ISA (generic scalar, AVX2, AVX-512), chosen once at load (or by setIsa in tests).
#pragma once
#include <cstdint>
#include <cstddef>

namespace glm5 {

enum class Fmt : int { F32 = 0, BF16 = 1, F16 = 2, FP8 = 3, INT8 = 4, INT4 = 5 };

constexpr int64_t INT8_GROUP = 32;
// int4 (src/tensor/int4.ts): f16 scale per INT4_GROUP columns; rows packed in 32-byte blocks of 64 columns,
// block dword j holding the block's weights 8k + j in its nibble k (two's complement).
constexpr int64_t INT4_GROUP = 32;
constexpr int64_t INT4_BLOCK = 64;

// A linear weight W[rows, cols] as stored (see src/tensor/weight.ts). Data may be unaligned.
struct WeightRef {
  Fmt fmt;
  int64_t rows, cols;
  const uint8_t* data;
  const float* scales;  // fp8: [ceil((rows+rowOffset)/br), ceil(cols/bc)]; int8: [rows, ceil(cols/32)]
  const uint16_t* hscales;  // int4: f16 bits [rows, ceil(cols/32)]
  int64_t br, bc, rowOffset;
  int64_t scaleCols() const {
    return fmt == Fmt::FP8 ? (cols + bc - 1) / bc : (cols + INT8_GROUP - 1) / INT8_GROUP;  // int4: INT4_GROUP == 32 too
  }
  // Bytes from one row to the next.
  int64_t rowBytes() const {
    if (fmt == Fmt::INT4) return (cols + INT4_BLOCK - 1) / INT4_BLOCK * (INT4_BLOCK / 2);
    return cols * (fmt == Fmt::F32 ? 4 : (fmt == Fmt::BF16 || fmt == Fmt::F16) ? 2 : 1);
  }
  // Rows [start, start + count) as a weight of their own (fp8: through rowOffset; int8/int4: its scale rows).
  WeightRef sliceRows(int64_t start, int64_t count) const {
    WeightRef s = *this;
    s.rows = count;
    s.data = data + start * rowBytes();
    if (fmt == Fmt::FP8) s.rowOffset = rowOffset + start;
    if (fmt == Fmt::INT8) s.scales = scales + start * scaleCols();
    if (fmt == Fmt::INT4) s.hscales = hscales + start * scaleCols();
    return s;
  }
};

// Cache element types (the latent and indexer-key caches): f32, bf16, or fp8 e4m3 with one f32 scale per
// KV_SCALE_BLOCK columns of each row (indexer keys only, as DeepSeek-V3.2 stores them).
enum class Kv : int { F32 = 0, BF16 = 1, FP8 = 2 };
constexpr int64_t KV_SCALE_BLOCK = 128;
static inline int64_t kvBytes(Kv t) { return t == Kv::F32 ? 4 : t == Kv::BF16 ? 2 : 1; }

// Indexer key rows as stored: row r at data + r·D·kvBytes(type); fp8 scales at scales + r·⌈D/128⌉.
struct KeyRows {
  const uint8_t* data;
  const float* scales;
  Kv type;
  int64_t D;
};

// One attention tile: nq query vectors ("lanes", ≤ Kernels::attnLanes) that read the same key list,
// lane i seeing list entries j < lim[i]. Keys [j0, j1) of the list are processed (a split of the list when
// several tiles share it). Key j lives in row r = rows ? rows[j] : j: k + r·kStride, v + r·vStride
// (elements of kvBytes each: 4 f32, 2 bf16).
struct AttnTile {
  const float* const* q;  // [nq] query vectors (dk floats)
  float* const* out;      // [nq] outputs (dv floats), normalised; or null: write the partials below
  const int32_t* lim;     // [nq]
  int64_t nq, j0, j1, dk, dv;
  const void* k;
  int64_t kStride;
  const void* v;
  int64_t vStride;
  int64_t kvBytes;
  const int32_t* rows;
  float scale;
  float *pO, *pM, *pL;  // partials: pO [nq, dv] unnormalised, pM running max (log2 units), pL sum
};

struct Kernels {
  const char* name;
  // y[r - r0] = W[r, :] · x for r in [r0, r1) (decode, T = 1).
  void (*gemv)(const WeightRef& w, const float* x, float* y, int64_t r0, int64_t r1);
  // y[c] = Σ_r x[r] W[r, c] for c in [c0, c1) (matmulT, T = 1). y is the full output row.
  void (*gemvT)(const WeightRef& w, const float* x, float* y, int64_t c0, int64_t c1);
  // Prefill product over consecutive token panels: panel j is xp + j·cols·panelTokens, [cols][panelTokens]
  // (token i in lane i; see panel.h); tokens [0, nt) are real, panel j holding tokens j·TP + lane. y(i, r) =
  // x_i · W[r, :] for r in [r0, r1) goes to y[j·yPanel + lane·yt + r·yr]; tokens nt ≤ i < ntOut are written
  // as 0 (ntOut a multiple of panelTokens: output as zero-padded panels). Uses `scratch`.
  void (*gemmPanel)(const WeightRef& w, const float* xp, int64_t nt, int64_t ntOut, float* y, int64_t yt, int64_t yr, int64_t yPanel,
                    int64_t r0, int64_t r1, float* scratch);
  int64_t panelTokens;
  // Few tokens (nt ≤ dotTokens): y(i, r) = xr[i] · W[r, :] for r in [r0, r1) to y[i·yt + r·yr], token rows
  // row-major. Returns false (nothing written) for formats it does not handle (fp8, int8: use gemmPanel).
  bool (*gemmDot)(const WeightRef& w, const float* const* xr, int64_t nt, float* y, int64_t yt, int64_t yr, int64_t r0, int64_t r1);
  int64_t dotTokens;
  // y[t·ldy + c] = Σ_r x[t·ldx + r] W[r, c] for t in [t0, t1), c in [c0, c1).
  void (*gemmT)(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t0, int64_t t1,
                int64_t c0, int64_t c1);
  // scores[j] = q · keys[j][0..n) for j < nk.
  void (*qk)(const float* q, const float* const* keys, int64_t nk, int64_t n, float* scores);
  // out[0..n) += Σ_j p[j] · vals[j][0..n).
  void (*pv)(const float* p, const float* const* vals, int64_t nv, int64_t n, float* out);
  // Two heads sharing the key / value rows: each row is loaded once for both.
  void (*qk2)(const float* q0, const float* q1, const float* const* keys, int64_t nk, int64_t n, float* s0, float* s1);
  void (*pv2)(const float* p0, const float* p1, const float* const* vals, int64_t nv, int64_t n, float* out0, float* out1);
  // Indexer, few query rows: out[s - s0] = Σ_h w[h] · relu(scale · q[h] · key s) for s in [s0, s1) of keys
  // (contiguous rows, read in place). q is [Hp][D] with Hp = roundUp(H, hpad), rows h ≥ H zero; w is [Hp],
  // zero-padded.
  void (*indexer)(const float* q, const float* w, int64_t Hp, const KeyRows& keys, int64_t s0, int64_t s1, float scale,
                  float* out);
  int64_t hpad;
  // Indexer, many query rows (a GEMM): kp [⌈n/VL⌉][D][VL] = key rows rows[0..n) converted to f32, keys across
  // lanes (padding lanes 0); tmp ≥ D floats. Then out[r·ldo + j] = the score of query row r (q [nr][Hp][D],
  // w [nr][Hp]) against panel key j, for j < n rounded up to the vector width (ldo covers it).
  void (*indexerPack)(const KeyRows& keys, const int32_t* rows, int64_t n, float* kp, float* tmp);
  void (*indexerScores)(const float* q, const float* w, int64_t nr, int64_t Hp, const float* kp, int64_t D, int64_t n,
                        float scale, float* out, int64_t ldo);
  // Attention tile (see AttnTile); scratch ≥ attnScratch(dk, dv) floats.
  void (*attn)(const AttnTile& t, float* scratch);
  int64_t attnLanes;
  // Elementwise: y = silu(g)·u; y = x·w·inv (rmsNorm's scaling, f64 inv applied per element in f32).
  void (*siluMul)(const float* g, const float* u, int64_t n, float* y);
  // One RMSNorm row: y = x · (1 / sqrt(mean(x²) + eps)) · w.
  void (*rmsRow)(const float* x, const float* w, int64_t D, double eps, float* y);
  // Probes: sum of n floats (streaming read); `iters` rounds of independent FMA chains, returns FLOPs.
  double (*readSum)(const float* p, int64_t n);
  double (*fmaLoop)(int64_t iters, float* sink);
};

constexpr int64_t ATTN_KB = 64;  // keys per attention block
// Qt, Ot and St per lane, and a block of converted (bf16) key and value rows.
static inline int64_t attnScratch(int64_t dk, int64_t dv, int64_t lanes) { return (dk + dv + ATTN_KB) * lanes + ATTN_KB * (dk + dv) + 64; }

// Scratch floats gemmPanel needs per thread.
constexpr int64_t GEMM_SCRATCH = 112 * 1024;  // AVX-512's worst case: a 24-row strip, 16 panels' accumulators and staging

// Formats whose products round their activations (int4: src/tensor/int4.ts quantizeQ8); panel drivers round the
// panels of such weights (roundPanelQ8).
static inline bool roundsActivations(Fmt f) { return f == Fmt::INT4; }

// Formats gemmDot handles.
static inline bool dotFormat(Fmt f) { return f == Fmt::F32 || f == Fmt::BF16 || f == Fmt::F16; }

const Kernels* kernelsScalar();
const Kernels* kernelsAvx2();    // nullptr when not compiled in
const Kernels* kernelsAvx512();  // nullptr when not compiled in

// The active table (best available unless setIsa chose another).
const Kernels& K();
// Returns false when `name` is unknown or unsupported on this CPU.
bool setIsa(const char* name);

}  // namespace glm5
