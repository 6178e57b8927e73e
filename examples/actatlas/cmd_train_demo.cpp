// actatlas train-demo: makes (or reuses) the demo CNN and writes the image set's contact sheet.
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/progress.hpp>
#include <actatlas/torch/demo_model.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

const char* const usage = R"(actatlas train-demo [--out DIR] [--seed S] [--force] [--steps N]

Trains the demo CNN on the procedural image set (on the CPU, about 1-3 minutes on two
cores), or reuses the one already trained with the same seed, and writes beside it a
contact sheet of the image set.

  --out DIR    where the model and the contact sheet go (default: $ACTATLAS_CACHE, else
               $XDG_CACHE_HOME/actatlas, else ~/.cache/actatlas)
  --seed S     seed of the weights and the training images (default 1)
  --steps N    optimiser steps (default 500; fewer is faster and less accurate)
  --threads T  LibTorch threads while training (default 2; part of what fixes the weights)
  --force      train again even when a model is cached

Writes DIR/demo_cnn_seed<S>.pt (weights + metadata) and DIR/demo_contact_sheet.png.)";

int run_train_demo(const std::vector<std::string>& argv) {
  cli::args a("train-demo", argv, {"force"});
  const std::string out = a.str("out", actatlas::default_demo_cache_dir().string());
  actatlas::demo_model_options options;
  options.seed = a.number<std::uint64_t>("seed", options.seed);
  options.steps = a.number<int>("steps", options.steps);
  options.threads = a.number<int>("threads", options.threads);
  const bool force = a.flag("force");
  a.reject_unknown();
  if (options.steps < 1) throw cli::usage_error("train-demo: --steps must be at least 1");
  if (options.threads < 1) throw cli::usage_error("train-demo: --threads must be at least 1");

  const std::filesystem::path dir(out);
  const auto path = dir / actatlas::demo_model_file_name(options);
  actatlas::progress_bar bar;
  bool trained = false;
  auto model = actatlas::load_or_train_demo_model(dir, options, std::ref(bar), force, &trained);
  const auto& meta = model->metadata();
  const auto sheet = dir / "demo_contact_sheet.png";
  actatlas::demo::write_contact_sheet(sheet, 8, options.seed);

  std::printf("%s %s\n", trained ? "trained" : "reused", path.string().c_str());
  std::printf("held-out accuracy %.2f%% on %d images, trained in %.1f s wall, %.1f s CPU (%d threads)\n",
              100.0 * meta.value("heldout_accuracy", 0.0), meta.value("heldout_images", 0),
              meta.value("train_seconds", 0.0), meta.value("train_cpu_seconds", 0.0),
              meta.at("options").value("threads", 0));
  const auto names = meta.at("class_names");
  const auto per_class = meta.at("per_class_accuracy");
  for (std::size_t c = 0; c < names.size(); ++c)
    std::printf("  %-10s %6.2f%%\n", names[c].get<std::string>().c_str(), 100.0 * per_class[c].get<double>());
  std::printf("contact sheet %s\n", sheet.string().c_str());
  return 0;
}

const bool registered = cli::add_command({"train-demo", "train (or reuse) the demo CNN on the procedural images", usage,
                                          run_train_demo});

}  // namespace
