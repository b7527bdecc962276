import ArgumentParser
import Data
import Experiments

struct DataOptions: ParsableArguments {
    @Option(help: "Dataset: \(DataSource.names.joined(separator: ", ")).")
    var dataset = "fashion-mnist"
    @Option(help: "Directory of the dataset files (default: /usr/share/datasets/fashion-mnist for Fashion-MNIST, data/NAME otherwise).")
    var dataDir: String?
    @Option(help: "standard (own train/test split, validation held out of train) or 60/20/20 (pooled random split).")
    var split = "standard"
    @Option(help: "Fraction of the training set held out for validation with --split standard.")
    var valFraction = 0.1

    func load(seed: UInt64) throws -> Splits {
        try DataSource.load(dataset: dataset, directory: dataDir, split: split, validationFraction: valFraction, seed: seed)
    }
}
