import ArgumentParser
import Experiments
import Foundation

/// Renders report files of a run directory (filled in by the report module).
func renderReport(directory: String) throws {}
