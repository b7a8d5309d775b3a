// The AVX-512 (F/BW/VL/DQ) kernel table. Built with -mavx512*; called only when cpuid says so.
#include "vec_avx512.h"
#include "../simd/kernels_impl.h"

namespace glm5 {
const Kernels* kernelsAvx512() {
  static const Kernels k = Impl<VecAvx512>::make("avx512");
  return &k;
}
}  // namespace glm5
