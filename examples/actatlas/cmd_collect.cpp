// actatlas collect: images → activations.npy, attributions.npy, provenance.csv.
#include <actatlas/progress.hpp>
#include <actatlas/sampler/all_positions.hpp>
#include <actatlas/sampler/center_position.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/device.hpp>
#if __has_include(<actatlas/torch/models.hpp>)
#include <actatlas/torch/models.hpp>
#define ACTATLAS_HAVE_OPEN_MODEL 1
#else
#include <actatlas/torch/load_model.hpp>
#endif

#include <cstdio>

#include "cli.hpp"

namespace {

const char* usage = R"(actatlas collect: sample one layer of a classifier over a folder of images

usage: actatlas collect --model M --images DIR --layer L --out DIR [options]

  --model M          model file: TorchScript archive (tools/export_torchvision.py),
                     InceptionV1 .safetensors, or a demo model
  --images DIR       folder of JPEG/PNG/BMP images, searched recursively
  --layer L          the layer to sample (an unknown name lists the layers there are)
  --out DIR          run folder: activations.npy (N×D), attributions.npy (N×C),
                     provenance.csv (image,x,y), collection.json
  --samples N        stop after N samples (default: one pass over the images); with
                     the random sampler the images are visited again, at new positions,
                     until N are collected
  --sampler S        random (default: one random position per image, edges excluded),
                     center, or all (every position)
  --margin M         rows/columns excluded at each edge (random: default 1, all: 0)
  --batch B          images per forward pass (default 32)
  --shard-batches K  batches per shard on disk: what an interruption can lose (default 16)
  --seed S           seed of the random sampler (default 0)
  --device D         auto (default: CUDA when available), cpu or cuda
  --threads T        image decoding threads (default: half the hardware threads)
  --no-attribution   skip the attributions (one forward pass per batch only)
  --keep-shards      keep the shards/ folder after merging

A collection that is interrupted resumes where it stopped when run again with the same
arguments; a finished one is not redone.)";

int run_collect(const std::vector<std::string>& argv) {
  cli::args args("collect", argv, {"no-attribution", "keep-shards"});
  const std::string model_path = args.str("model");
  const std::string images = args.str("images");
  const std::string out = args.str("out");
  actatlas::collect_options opts;
  opts.layer = args.str("layer");
  opts.samples = args.number<std::uint64_t>("samples", 0);
  const std::string sampler_name = args.str("sampler", "random");
  const bool margin_given = args.has("margin");
  const int margin = args.number<int>("margin", 0);
  opts.batch = args.number<std::size_t>("batch", 32);
  opts.shard_batches = args.number<std::size_t>("shard-batches", 16);
  const auto seed = args.number<std::uint64_t>("seed", 0);
  const std::string device_name = args.str("device", "auto");
  opts.decode_threads = args.number<unsigned>("threads", 0);
  opts.attribution = !args.flag("no-attribution");
  opts.keep_shards = args.flag("keep-shards");
  args.reject_unknown();
  if (opts.batch == 0) throw cli::usage_error("collect: --batch must be at least 1");
  if (margin < 0) throw cli::usage_error("collect: --margin must not be negative");

  const auto device = actatlas::pick_device(device_name);
#ifdef ACTATLAS_HAVE_OPEN_MODEL
  auto model = actatlas::open_model(model_path, device);
#else
  auto model = actatlas::load_model(model_path, device);
#endif
  opts.model_name = std::filesystem::path(model_path).filename().string();
  actatlas::progress_bar bar;
  opts.progress = std::ref(bar);
  std::fprintf(stderr, "collect: %s, layer %s, on %s\n", opts.model_name.c_str(), opts.layer.c_str(),
               device.str().c_str());

  actatlas::collect_summary summary;
  if (sampler_name == "random") {
    opts.repeat_images = opts.samples > 0;
    actatlas::sampler::random_position s({.seed = seed, .margin = margin_given ? margin : 1});
    summary = actatlas::collect(*model, images, out, s, opts);
  } else if (sampler_name == "center") {
    summary = actatlas::collect(*model, images, out, actatlas::sampler::center_position{}, opts);
  } else if (sampler_name == "all") {
    summary = actatlas::collect(*model, images, out, actatlas::sampler::all_positions({.margin = margin}), opts);
  } else {
    throw cli::usage_error("collect: --sampler must be random, center or all, not '" + sampler_name + "'");
  }

  if (summary.already_complete)
    std::fprintf(stderr, "collect: %s already holds a finished collection; nothing to do\n", out.c_str());
  else if (summary.resumed_samples > 0)
    std::fprintf(stderr, "collect: resumed after %llu samples\n", static_cast<unsigned long long>(summary.resumed_samples));
  std::fprintf(stderr, "collect: %llu samples from %llu image visits → %s\n",
               static_cast<unsigned long long>(summary.samples), static_cast<unsigned long long>(summary.visits),
               out.c_str());
  if (!summary.skipped.empty()) {
    std::fprintf(stderr, "collect: skipped %zu file(s) that could not be decoded:\n", summary.skipped.size());
    for (const auto& s : summary.skipped)
      std::fprintf(stderr, "  %s: %s\n", s.path.string().c_str(), s.reason.c_str());
  }
  if (summary.samples == 0)
    throw actatlas::input_error(images, "no sample was collected (no image could be decoded, see above)");
  return 0;
}

const bool registered = cli::add_command({"collect", "sample a layer over an image folder (activations, attributions)",
                                          usage, run_collect});

}  // namespace
