#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Writes files so that a reader never sees half of one: the bytes go to a temporary
/// file in the same directory, which is then renamed over the target (atomic on POSIX).
enum AtomicFile {
    /// Test hook: an errno to fail the write of a matching file with, after half its bytes
    /// (what a disk that fills up mid-write leaves).
    nonisolated(unsafe) static var injectedFailure: ((URL) -> Int32?)?

    static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw RunError.io("cannot create the directory \(dir.path) for \(url.lastPathComponent): \(reason(error))")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        // POSIX calls rather than Data.write, so a failure has its errno (ENOSPC, EDQUOT) for one clear
        // line, and the partial temporary file is removed: the previous version stays the valid one.
        let err = writeAll(data, to: tmp.path, failing: injectedFailure?(url))
        if err != 0 {
            unlink(tmp.path)
            throw RunError.io("cannot write \(url.lastPathComponent) (\(data.count) bytes) in \(dir.path): \(describe(err, dir: dir.path))")
        }
        if rename(tmp.path, url.path) != 0 {
            let e = errno
            unlink(tmp.path)
            throw RunError.io("cannot write \(url.path): \(describe(e, dir: dir.path))")
        }
    }

    static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    /// 0, or the errno of the first failing call.
    private static func writeAll(_ data: Data, to path: String, failing injected: Int32?) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return errno }
        var err: Int32 = 0
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            let limit = injected == nil ? raw.count : raw.count / 2
            while offset < limit {
                let n = Glibc.write(fd, raw.baseAddress! + offset, limit - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    err = errno
                    return
                }
                offset += n
            }
            if let injected { err = injected }
        }
        // close reports deferred write errors (NFS, quotas).
        if close(fd) != 0, err == 0 { err = errno }
        return err
    }

    private static func describe(_ err: Int32, dir: String) -> String {
        switch err {
        case ENOSPC: return "no space left on the device of \(dir) (free some and run again; --resume continues from the last checkpoint)"
        case EDQUOT: return "disk quota exceeded on the device of \(dir)"
        default: return String(cString: strerror(err))
        }
    }

    private static func reason(_ error: Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}

/// Failures of the runner, run store and reports, as one line each.
public enum RunError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case corruptCheckpoint(String, reason: String)
    case interrupted(String)
    /// A unit stopped on request (a signal) after writing a checkpoint `--resume` continues from.
    case stopped(String)
    case spec(String)

    public var description: String {
        switch self {
        case .io(let m): return m
        case .corruptCheckpoint(let f, let r): return "corrupt checkpoint \(f): \(r) (delete it to restart that run)"
        case .interrupted(let m): return m
        case .stopped(let m): return m
        case .spec(let m): return m
        }
    }
}
