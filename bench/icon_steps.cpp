// How many steps and attempts an icon needs: the final objective (no transforms, as
// render_icons scores it) against steps, for the best of 1, 2 and 4 attempts, from one
// run at the article's settings (render_options::score_at_steps: an N-step run passes
// through the exact state of every shorter run with the same seed). Then one render at a
// cheaper setting, timed against the article's, and both sets of icons in one picture.
//
//   bench_icon_steps --model demo|FILE.pt@LAYER [--images DIR] [--icons 16] [--size 80]
//                    [--steps 1024] [--attempts 4] [--scores 32,64,...] [--fast 256x1|1024x4p32]
//                    [--threads T] [--seed 0] [--out DIR]
//
// Directions: the activation at the centre of the layer's map for --icons real images (the
// demo's procedural images, one class after another, or files evenly spaced through --images),
// not whitened. The table: for each step count and number of attempts, the mean over the
// icons of the best attempt's final objective, as a fraction of the article's (all
// attempts, all steps), and how many icons are within 2% of theirs. The picture
// (OUT/icons_<model>.png): the article's icons on top, the cheaper setting's below.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <actatlas/io/image_folder.hpp>
#include <actatlas/io/png.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/image_batches.hpp>
#include <actatlas/torch/inversion/render_icons.hpp>
#include <actatlas/torch/load_model.hpp>

namespace inv = actatlas::inversion;
namespace fs = std::filesystem;

namespace {

std::vector<std::int64_t> parse_list(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The centre activation of `layer` for each image: the directions to invert.
torch::Tensor centre_directions(actatlas::classifier& model, const std::string& layer, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return inv::detail::centre_activation(model, images.to(model.device()), layer).to(torch::kCPU).contiguous();
}

// `n` images of the model's input size from the first files of `dir` (sorted by path).
torch::Tensor folder_images(const fs::path& dir, std::int64_t n, const actatlas::model_info& info) {
  auto files = actatlas::io::list_images(dir);
  if (files.size() < static_cast<std::size_t>(n)) throw actatlas::input_error(dir.string(), "has fewer images than --icons");
  const std::size_t stride = files.size() / static_cast<std::size_t>(n);  // spread over the folder (its classes)
  actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v * stride]; }, 0,
                                      static_cast<std::uint64_t>(n), static_cast<int>(info.input_height),
                                      static_cast<int>(info.input_width), {.batch = static_cast<std::size_t>(n)});
  auto batch = reader.next();
  if (!batch || batch->pixels.size(0) != n) throw actatlas::input_error(dir.string(), "some images did not decode");
  return batch->pixels;
}

// Icons [B, H, W, 3] uint8 → one row of the picture.
void paste_row(std::vector<std::uint8_t>& canvas, int canvas_w, int row, const torch::Tensor& pixels) {
  const auto b = pixels.size(0), h = pixels.size(1), w = pixels.size(2);
  const auto px = pixels.contiguous();
  const std::uint8_t* src = px.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t y = 0; y < h; ++y)
      std::copy_n(src + ((i * h + y) * w) * 3, w * 3,
                  canvas.begin() + ((static_cast<std::int64_t>(row) * h + y) * canvas_w + i * w) * 3);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_text = "demo", images_dir, scores_text = "16,32,64,128,256,384,512,768,1024", fast_text = "256x1";
  std::string out_dir = "icon-steps";
  std::int64_t icons = 16, size = 80, steps = 1024, attempts = 4;
  std::uint64_t seed = 0;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_icon_steps: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_text = next();
    else if (a == "--images") images_dir = next();
    else if (a == "--icons") icons = std::stoll(next());
    else if (a == "--size") size = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--attempts") attempts = std::stoll(next());
    else if (a == "--scores") scores_text = next();
    else if (a == "--fast") fast_text = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--out") out_dir = next();
    else {
      std::fprintf(stderr, "bench_icon_steps: unknown argument %s (see the file comment)\n", a.c_str());
      return 2;
    }
  }
  try {
    if (threads > 0) torch::set_num_threads(threads);
    std::unique_ptr<actatlas::classifier> model;
    std::string layer, label;
    torch::Tensor images;
    if (model_text == "demo") {
      model = actatlas::load_or_train_demo_model(actatlas::default_demo_cache_dir());
      layer = "conv4";
      label = "demo";
      std::vector<torch::Tensor> rows;
      const auto classes = static_cast<std::int64_t>(actatlas::demo::class_count());
      for (std::int64_t i = 0; i < icons; ++i)  // one class after another, a fresh image of each
        rows.push_back(actatlas::detail::demo_batch(0xD1CE5ull, static_cast<std::uint64_t>(i % classes + classes * (i / classes)), 1,
                                                    model->info().input_height)
                           .first);
      images = torch::cat(rows);
    } else {
      const auto at = model_text.rfind('@');
      if (at == std::string::npos || images_dir.empty())
        throw actatlas::input_error(model_text, "give FILE.pt@LAYER and --images DIR");
      model = actatlas::load_model(model_text.substr(0, at), torch::kCPU);
      layer = model_text.substr(at + 1);
      label = fs::path(model_text.substr(0, at)).stem().string();
      images = folder_images(images_dir, icons, model->info());
    }
    const auto directions = centre_directions(*model, layer, images);
    // STEPSxATTEMPTS[pP]: e.g. 256x1, or 1024x4p32 (attempts pruned after 32 steps).
    const auto x = fast_text.find('x'), pr = fast_text.find('p');
    const std::int64_t fast_steps = std::stoll(fast_text.substr(0, x));
    const std::int64_t fast_attempts = x == std::string::npos ? 1 : std::stoll(fast_text.substr(x + 1, pr - x - 1));
    const std::int64_t fast_prune = pr == std::string::npos ? 0 : std::stoll(fast_text.substr(pr + 1));

    inv::render_options article;
    article.size = size;
    article.steps = steps;
    article.attempts = attempts;
    article.seed = seed;
    article.score_at_steps = parse_list(scores_text);
    auto t0 = std::chrono::steady_clock::now();
    const auto ref = inv::render_icons(*model, layer, directions, actatlas::objective::cossim_dot<4>{}, article);
    const double article_seconds = seconds_since(t0);

    inv::render_options fast = article;
    fast.steps = fast_steps;
    fast.attempts = fast_attempts;
    fast.prune_after = fast_prune;
    fast.score_at_steps.clear();
    t0 = std::chrono::steady_clock::now();
    const auto cheap = inv::render_icons(*model, layer, directions, actatlas::objective::cossim_dot<4>{}, fast);
    const double fast_seconds = seconds_since(t0);

    // reference: per icon, the article's kept objective.
    const auto reference = torch::tensor(ref.objective);
    const double ref_mean = reference.mean().item<double>();
    std::printf("# %s@%s: %lld icons of %lld px, directions = centre activations of real images, %d threads\n",
                label.c_str(), layer.c_str(), static_cast<long long>(icons), static_cast<long long>(size),
                torch::get_num_threads());
    std::printf("# reference: %lld attempts x %lld steps, mean final objective %.4f, %.1f s (%.2f s per icon)\n",
                static_cast<long long>(attempts), static_cast<long long>(steps), ref_mean, article_seconds,
                article_seconds / static_cast<double>(icons));
    std::printf("%8s %9s %13s %14s %11s\n", "steps", "attempts", "mean/article", "within 2%", "step cost");
    for (std::size_t k = 0; k < article.score_at_steps.size(); ++k) {
      for (std::int64_t tries : {1, 2, 4}) {
        if (tries > attempts) continue;
        // best of the first `tries` attempts after score_at_steps[k] steps
        const auto best = std::get<0>(ref.scores.narrow(0, 0, tries).select(1, static_cast<std::int64_t>(k)).max(0));
        const double mean = best.mean().item<double>();
        const auto within = (best >= reference - 0.02 * reference.abs()).sum().item<std::int64_t>();
        const double cost = static_cast<double>(article.score_at_steps[k] * tries) / static_cast<double>(steps * attempts);
        std::printf("%8lld %9lld %13.4f %10lld/%-3lld %10.4f\n", static_cast<long long>(article.score_at_steps[k]),
                    static_cast<long long>(tries), mean / ref_mean, static_cast<long long>(within),
                    static_cast<long long>(icons), cost);
      }
    }
    // Attempts pruned after a short run: every attempt runs `p` steps, the best by its score
    // then is the only one continued to the end. Read off the same run: the continued
    // attempt's final objective is its own (render_icons would draw other transforms for
    // the continuation, so this is the estimate of what such a schedule gives).
    if (attempts > 1) {
      std::printf("# attempts pruned: all %lld run p steps, the best continues to %lld\n", static_cast<long long>(attempts),
                  static_cast<long long>(steps));
      std::printf("%8s %13s %14s %11s\n", "p", "mean/article", "within 2%", "step cost");
      for (std::size_t k = 0; k + 1 < article.score_at_steps.size(); ++k) {
        const auto p = article.score_at_steps[k];
        const auto chosen = std::get<1>(ref.scores.select(1, static_cast<std::int64_t>(k)).max(0));  // [B]
        const auto kept = ref.attempt_objective.gather(0, chosen.unsqueeze(0)).squeeze(0);
        const double mean = kept.mean().item<double>();
        const auto within = (kept >= reference - 0.02 * reference.abs()).sum().item<std::int64_t>();
        const double cost = static_cast<double>(attempts * p + (steps - p)) / static_cast<double>(steps * attempts);
        std::printf("%8lld %13.4f %10lld/%-3lld %10.4f\n", static_cast<long long>(p), mean / ref_mean,
                    static_cast<long long>(within), static_cast<long long>(icons), cost);
      }
    }
    const auto cheap_objective = torch::tensor(cheap.objective);
    const double fast_mean = cheap_objective.mean().item<double>();
    const auto fast_within = (cheap_objective >= reference - 0.02 * reference.abs()).sum().item<std::int64_t>();
    std::printf("# %s (%lld attempts x %lld steps, pruned after %lld): mean final objective %.4f (%.4f of the "
                "article's, %lld/%lld icons within 2%%), %.1f s: %.2fx faster\n",
                fast_text.c_str(), static_cast<long long>(fast_attempts), static_cast<long long>(fast_steps),
                static_cast<long long>(fast_prune), fast_mean, fast_mean / ref_mean, static_cast<long long>(fast_within),
                static_cast<long long>(icons), fast_seconds, article_seconds / fast_seconds);

    fs::create_directories(out_dir);
    const int w = static_cast<int>(icons * size), h = static_cast<int>(2 * size);
    std::vector<std::uint8_t> canvas(static_cast<std::size_t>(w) * h * 3, 255);
    paste_row(canvas, w, 0, ref.pixels);
    paste_row(canvas, w, 1, cheap.pixels);
    const auto picture = fs::path(out_dir) / ("icons_" + label + ".png");
    actatlas::io::write_png(picture, canvas.data(), w, h, 3);
    std::printf("# picture: %s (top: article, bottom: %s)\n", picture.string().c_str(), fast_text.c_str());
  } catch (const actatlas::input_error& e) {
    std::fprintf(stderr, "bench_icon_steps: %s\n", e.what());
    return 2;
  }
  return 0;
}
