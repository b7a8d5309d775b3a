// The AVX2 + FMA + F16C kernel table. Built with -mavx2 -mfma -mf16c; called only when cpuid says so.
#include "vec_avx2.h"
#include "../simd/kernels_impl.h"

namespace glm5 {
const Kernels* kernelsAvx2() {
  static const Kernels k = Impl<VecAvx2>::make("avx2");
  return &k;
}
}  // namespace glm5
