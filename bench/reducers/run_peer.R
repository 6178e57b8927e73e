# Runs one R peer on DATA_DIR/X.f32 (raw row-major float32, shape in shape.txt) and
# writes the N×2 layout as raw float32 to OUT.
# usage: Rscript run_peer.R uwot|rtsne DATA_DIR OUT.f32 THREADS
args <- commandArgs(trailingOnly = TRUE)
method <- args[1]; data <- args[2]; out <- args[3]; threads <- as.integer(args[4])
shape <- scan(file.path(data, "shape.txt"), quiet = TRUE)
x <- matrix(readBin(file.path(data, "X.f32"), "numeric", n = shape[1] * shape[2], size = 4),
            nrow = shape[1], byrow = TRUE)
if (method == "uwot") {
  # defaults (15 neighbours, euclidean, spectral init) except min_dist: uwot's default is
  # 0.01, umap-learn's and ours 0.1; the comparison needs the same curve (a, b)
  y <- uwot::umap(x, min_dist = 0.1, n_threads = threads, n_sgd_threads = threads)
} else if (method == "rtsne") {
  # defaults: PCA to 50 dims, perplexity 30, theta 0.5, 1000 iterations
  y <- Rtsne::Rtsne(x, dims = 2, num_threads = threads, check_duplicates = FALSE)$Y
} else {
  stop(paste("unknown method", method))
}
writeBin(as.vector(t(y)), out, size = 4)
