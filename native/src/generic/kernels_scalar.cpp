// The portable kernel table: the shared kernels over one-float "vectors", plain C++.
#include "../simd/kernels_impl.h"
#include "../simd/vec_scalar.h"

namespace glm5 {
const Kernels* kernelsScalar() {
  static const Kernels k = Impl<VecScalar>::make("scalar");
  return &k;
}
}  // namespace glm5
