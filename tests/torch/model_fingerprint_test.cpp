// The content fingerprint of a model's weights (torch/model_fingerprint.hpp), the model
// part of the icon cache's key: the same weights give the same fingerprint whatever the
// file is called or how the model was loaded; one changed element of one tensor (a weight
// or a batch-norm statistic) gives another. SHA-256 itself is checked on FIPS 180-4's
// published examples.
// LibTorch first: glog (through c10) defines its own CHECK, which Catch's must replace.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <actatlas/io/remove_tree.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/inception_v1.hpp>
#include <actatlas/torch/model_fingerprint.hpp>
#include <actatlas/torch/torchscript_model.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "model_fixtures.hpp"

namespace {

std::string sha256_hex(const std::string& text) {
  actatlas::detail::sha256 h;
  h.update(text);
  return h.hex_digest();
}

actatlas::demo_model_options tiny_budget(std::uint64_t seed = 1) {
  actatlas::demo_model_options o;
  o.widths = {4, 8, 8, 8};
  o.steps = 4;
  o.batch_size = 16;
  o.heldout_per_class = 1;
  o.threads = 1;
  o.seed = seed;
  return o;
}

// A classifier that lists whatever tensors it is given (to test the recipe itself).
class listed_tensors : public actatlas::classifier {
 public:
  explicit listed_tensors(std::vector<std::pair<std::string, torch::Tensor>> state) : state_(std::move(state)) {}
  const actatlas::model_info& info() const override { return info_; }
  actatlas::layer_outputs forward(const torch::Tensor&, const std::vector<std::string>&) override { return {}; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }
  std::vector<std::pair<std::string, torch::Tensor>> named_state() const override { return state_; }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> state_;
  actatlas::model_info info_;
};

// A classifier written without named_state(): no content to fingerprint.
class opaque_model : public actatlas::classifier {
 public:
  const actatlas::model_info& info() const override { return info_; }
  actatlas::layer_outputs forward(const torch::Tensor&, const std::vector<std::string>&) override { return {}; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }

 private:
  actatlas::model_info info_;
};

}  // namespace

TEST_CASE("fingerprint: SHA-256 gives FIPS 180-4's published digests", "[fingerprint]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding spills into a second block.
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces: the streaming across blocks.
  actatlas::detail::sha256 h;
  const std::string piece(997, 'a');
  std::size_t fed = 0;
  while (fed < 1000000) {
    const std::size_t n = std::min<std::size_t>(piece.size(), 1000000 - fed);
    h.update(piece.data(), n);
    fed += n;
  }
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("fingerprint: names, dtypes, shapes and bytes all count; listing order does not", "[fingerprint]") {
  const auto a = torch::arange(6, torch::kFloat32).reshape({2, 3});
  const auto b = torch::ones({4}, torch::kFloat64);
  const std::string base = actatlas::model_fingerprint(listed_tensors({{"a", a}, {"b", b}}));
  CHECK(base.size() == 64);
  CHECK(actatlas::model_fingerprint(listed_tensors({{"b", b.clone()}, {"a", a.clone()}})) == base);
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a}, {"c", b}})) != base);                   // a name
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a.reshape({3, 2})}, {"b", b}})) != base);   // a shape
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a.view(torch::kInt32)}, {"b", b}})) != base);  // same bytes, another dtype
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a}})) != base);                             // a tensor fewer
  // A transposed view holds other values in row-major order: the values count, not the storage.
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a.t().contiguous().reshape({2, 3})}, {"b", b}})) != base);
  CHECK(actatlas::model_fingerprint(listed_tensors({{"a", a.t().t()}, {"b", b}})) == base);
  // Nothing listed: no fingerprint, rather than one shared by every such model.
  CHECK(actatlas::model_fingerprint(opaque_model{}).empty());
}

TEST_CASE("fingerprint: a demo model's weights and batch-norm statistics", "[fingerprint]") {
  auto a = actatlas::train_demo_model(tiny_budget());
  auto b = actatlas::train_demo_model(tiny_budget());
  const std::string fa = actatlas::model_fingerprint(*a);
  CHECK(fa.size() == 64);
  CHECK(actatlas::model_fingerprint(*b) == fa);  // same seed, same weights, separately trained
  CHECK(actatlas::model_fingerprint(*actatlas::train_demo_model(tiny_budget(2))) != fa);

  // One element of one weight, then back.
  torch::NoGradGuard no_grad;
  auto weight = b->network()->named_parameters()["conv3.weight"];
  const float old = weight.view(-1)[5].item<float>();
  weight.view(-1).narrow(0, 5, 1).fill_(std::nextafter(old, 2 * old + 1));
  CHECK(actatlas::model_fingerprint(*b) != fa);
  weight.view(-1).narrow(0, 5, 1).fill_(old);
  CHECK(actatlas::model_fingerprint(*b) == fa);
  // A batch-norm running statistic is not a parameter, but the outputs depend on it.
  auto running_mean = b->network()->named_buffers()["bn2.running_mean"];
  running_mean.narrow(0, 0, 1).add_(0.25);
  CHECK(actatlas::model_fingerprint(*b) != fa);
}

TEST_CASE("fingerprint: a saved and reloaded model keeps it; new weights under the same name change it",
          "[fingerprint]") {
  const auto dir = fixtures::scratch("fingerprint");
  SECTION("demo model") {
    auto model = actatlas::train_demo_model(tiny_budget());
    actatlas::save_demo_model(*model, dir / "model.pt");
    const auto loaded = actatlas::load_demo_model(dir / "model.pt");
    CHECK(actatlas::model_fingerprint(*loaded) == actatlas::model_fingerprint(*model));
    // Retrained (another seed) and saved under the same name: the stale-cache case.
    auto retrained = actatlas::train_demo_model(tiny_budget(3));
    actatlas::save_demo_model(*retrained, dir / "model.pt");
    CHECK(actatlas::model_fingerprint(*actatlas::load_demo_model(dir / "model.pt")) != actatlas::model_fingerprint(*model));
  }
  SECTION("TorchScript") {
    fixtures::save_tiny_net(dir / "tiny.pt", 5);
    const auto first = actatlas::model_fingerprint(actatlas::torchscript_model(dir / "tiny.pt"));
    CHECK(first.size() == 64);
    fixtures::save_tiny_net(dir / "copy.pt", 5);  // another file, the same weights
    CHECK(actatlas::model_fingerprint(actatlas::torchscript_model(dir / "copy.pt")) == first);
    fixtures::save_tiny_net(dir / "tiny.pt", 6);  // the same name, other weights
    CHECK(actatlas::model_fingerprint(actatlas::torchscript_model(dir / "tiny.pt")) != first);
  }
  SECTION("InceptionV1") {
    const actatlas::inception_v1 model(actatlas::inception_v1::random_init{4});
    const auto f = actatlas::model_fingerprint(model);
    CHECK(actatlas::model_fingerprint(actatlas::inception_v1(actatlas::inception_v1::random_init{4})) == f);
    CHECK(actatlas::model_fingerprint(actatlas::inception_v1(actatlas::inception_v1::random_init{5})) != f);
    model.save_safetensors(dir / "inception.safetensors");
    CHECK(actatlas::model_fingerprint(actatlas::inception_v1(dir / "inception.safetensors")) == f);
  }
}
