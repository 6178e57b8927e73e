// Attribution for every class in one extra pass: equal to C explicit backward passes and
// to a central finite difference along the activation vector.
#include <catch2/catch.hpp>

#include <actatlas/torch/attribution.hpp>
#include <actatlas/torch/load_model.hpp>

#include "model_fixtures.hpp"

namespace {

// Sites over a batch of 3: image 1 has two (a second round), image 2 sits on an edge.
const std::vector<actatlas::sample_site> sites = {{0, {3, 4}}, {1, {0, 7}}, {1, {5, 2}}, {2, {7, 0}}};

}  // namespace

TEST_CASE("attribution: equals one explicit backward pass per class", "[attribution]") {
  const auto dir = fixtures::scratch("attribution-backward");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 11), torch::kCPU);
  torch::manual_seed(4);
  const auto x = torch::rand({3, 3, 16, 16});

  const auto got = actatlas::sample_layer(*model, x, "block2", sites, true);
  REQUIRE(got.attributions.sizes() == torch::IntArrayRef{4, 7});
  REQUIRE(got.activations.sizes() == torch::IntArrayRef{4, 6});
  REQUIRE(got.height == 8);

  // Reference: C backward passes, one per class.
  const auto input = x.clone().requires_grad_(true);
  auto out = model->forward(input, {"block2"});
  const auto h = out.at("block2");
  const auto logits = out.at("logits");
  auto expected = torch::zeros({4, 7});
  for (int c = 0; c < 7; ++c) {
    const auto gc = torch::autograd::grad({logits.select(1, c).sum()}, {h}, {}, true)[0];
    for (std::size_t k = 0; k < sites.size(); ++k) {
      const auto& s = sites[k];
      const auto hp = h.detach()[s.image].select(1, s.where.y).select(1, s.where.x);
      const auto gp = gc[s.image].select(1, s.where.y).select(1, s.where.x);
      expected[static_cast<std::int64_t>(k)][c] = (hp * gp).sum();
    }
    // The activations returned are h at the sites.
  }
  for (std::size_t k = 0; k < sites.size(); ++k) {
    const auto& s = sites[k];
    REQUIRE(torch::allclose(got.activations[static_cast<std::int64_t>(k)],
                            h.detach()[s.image].select(1, s.where.y).select(1, s.where.x)));
  }
  INFO("got " << got.attributions << "\nexpected " << expected);
  REQUIRE(expected.abs().max().item<float>() > 1e-3f);  // not a vacuous comparison
  REQUIRE(torch::allclose(got.attributions, expected, 1e-4, 1e-6));
  REQUIRE(torch::allclose(got.logits, logits.detach()));
}

TEST_CASE("attribution: equals a central finite difference along h at the site", "[attribution]") {
  const auto dir = fixtures::scratch("attribution-fd");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 12), torch::kCPU);
  torch::manual_seed(5);
  const auto x = torch::rand({3, 3, 16, 16});
  const auto got = actatlas::sample_layer(*model, x, "block2", sites, true);

  // The same network in double precision; perturb block2 at one site and rerun the head.
  auto net = fixtures::tiny_net(12);
  net.to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  const auto h = net.forward({x.to(torch::kFloat64)}).toGenericDict().at("block2").toTensor();
  const double eps = 1e-5;
  for (std::size_t k = 0; k < sites.size(); ++k) {
    const auto& s = sites[k];
    auto direction = torch::zeros_like(h);
    direction[s.image].select(1, s.where.y).select(1, s.where.x).copy_(
        h[s.image].select(1, s.where.y).select(1, s.where.x));
    const auto up = net.run_method("head", h + eps * direction).toTensor();
    const auto down = net.run_method("head", h - eps * direction).toTensor();
    const auto fd = ((up - down) / (2 * eps))[s.image].to(torch::kFloat32);
    INFO("site " << k << " fd " << fd << " got " << got.attributions[static_cast<std::int64_t>(k)]);
    REQUIRE(torch::allclose(got.attributions[static_cast<std::int64_t>(k)], fd, 1e-3, 1e-5));
  }
}

TEST_CASE("attribution: off gives the same activations and logits, no gradients", "[attribution]") {
  const auto dir = fixtures::scratch("attribution-off");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 13), torch::kCPU);
  const auto x = torch::rand({3, 3, 16, 16});
  const auto with = actatlas::sample_layer(*model, x, "block1", sites, true);
  const auto without = actatlas::sample_layer(*model, x, "block1", sites, false);
  REQUIRE_FALSE(without.attributions.defined());
  REQUIRE(without.height == 16);
  REQUIRE(torch::allclose(with.activations, without.activations));
  REQUIRE(torch::allclose(with.logits, without.logits));
  // block1 is below a max-pool: its attributions are non-zero too, and differ per class.
  REQUIRE(with.attributions.abs().sum().item<float>() > 0.0f);
  REQUIRE_THROWS_AS(actatlas::sample_layer(*model, x, "block1", {{0, {16, 0}}}, false), std::out_of_range);
}
