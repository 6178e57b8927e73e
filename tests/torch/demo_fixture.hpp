// The fully trained demo model, shared by the tests that need a network that has really
// learned the demo set. Under ctest it is the file the `demo.train_model` fixture trained
// into the build tree (ACTATLAS_CACHE points there); run by hand, it is trained once into
// the user's cache (~/.cache/actatlas) and reused afterwards.
#pragma once

#include <actatlas/torch/demo_model.hpp>

#include <memory>

namespace actatlas::test {

inline demo_model& trained_demo_model() {
  static std::unique_ptr<demo_model> model = load_or_train_demo_model(default_demo_cache_dir());
  return *model;
}

}  // namespace actatlas::test
