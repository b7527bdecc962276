import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reading for the dataset readers: distributions ship the same files
/// both gzipped and plain, so every reader goes through `DataFile.read`, which
/// decides by the gzip magic rather than by the file name.
package enum DataFile {
    /// The file's bytes, gunzipped when they start with the gzip magic (1f 8b).
    package static func read(_ path: String) throws -> [UInt8] {
        let raw = try readRaw(path)
        return Gzip.isCompressed(raw) ? try Gzip.decompress(raw, file: path) : raw
    }

    /// The file's bytes as stored.
    package static func readRaw(_ path: String) throws -> [UInt8] {
        var info = stat()
        if stat(path, &info) != 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw DataError.missingFile(path) }
            throw DataError.corrupt(file: path, reason: "cannot stat: \(errorText(e))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DataError.corrupt(file: path, reason: "not a regular file")
        }
        guard let handle = fopen(path, "rb") else {
            let e = errno
            if e == ENOENT { throw DataError.missingFile(path) }
            throw DataError.corrupt(file: path, reason: "cannot open: \(errorText(e))")
        }
        defer { fclose(handle) }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
            var done = 0
            while done < size {
                let n = fread(buf.baseAddress! + done, 1, size - done, handle)
                if n == 0 { break }
                done += n
            }
            // Uninitialised bytes must not escape: zero the tail of a short read.
            if done < size { (buf.baseAddress! + done).initialize(repeating: 0, count: size - done); failed = true }
            initialized = size
        }
        if failed || ferror(handle) != 0 {
            throw DataError.corrupt(file: path, reason: "short read (file changed or unreadable)")
        }
        return bytes
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Joins a directory and a file name without doubling the separator.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The first of `names` present in `directory`, or nil.
    static func firstExisting(in directory: String, _ names: [String]) -> String? {
        names.lazy.map { join(directory, $0) }.first(where: exists)
    }
}

/// In-memory gzip through zlib.
package enum Gzip {
    package static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates a gzip (or zlib) stream, including concatenated gzip members.
    /// `file` only names the source in errors.
    package static func decompress(_ input: [UInt8], file: String = "<memory>") throws -> [UInt8] {
        // zlib keeps a back-pointer to the stream and checks it on every call, so the
        // z_stream needs a stable address, which `&localVar` does not promise.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // windowBits 15 + 32: maximum window, detect gzip or zlib header automatically.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corrupt(file: file, reason: "zlib could not start inflating")
        }
        defer { inflateEnd(stream) }

        var out = [UInt8](repeating: 0, count: initialCapacity(input))
        var produced = 0
        var consumed = 0
        // Bounded per call because zlib's counters are 32-bit.
        let maxChunk = Int(UInt32.max)
        try input.withUnsafeBufferPointer { src in
            while true {
                if produced == out.count { out.append(contentsOf: repeatElement(0, count: Swift.max(out.count, 1 << 16))) }
                let inChunk = Swift.min(input.count - consumed, maxChunk)
                let room = Swift.min(out.count - produced, maxChunk)
                stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress! + consumed)
                stream.pointee.avail_in = UInt32(inChunk)
                let status = out.withUnsafeMutableBufferPointer { dst -> Int32 in
                    stream.pointee.next_out = dst.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(room)
                    return inflate(stream, Z_NO_FLUSH)
                }
                consumed += inChunk - Int(stream.pointee.avail_in)
                produced += room - Int(stream.pointee.avail_out)
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // `gzip a b > c` style files hold several members; each is valid gzip.
                    if input.count - consumed >= 2, src[consumed] == 0x1F, src[consumed + 1] == 0x8B {
                        inflateReset(stream)
                        continue
                    }
                    // Padding zeros after the stream are tolerated (as gunzip does); other bytes are not.
                    if src[consumed...].contains(where: { $0 != 0 }) {
                        throw DataError.corrupt(file: file, reason: "unexpected bytes after the gzip stream")
                    }
                    return
                case Z_BUF_ERROR:
                    // No progress possible: either the output is full (grow and retry) or the input ran out.
                    if produced < out.count {
                        throw DataError.corrupt(file: file, reason: "truncated gzip stream")
                    }
                case Z_NEED_DICT, Z_DATA_ERROR:
                    let msg = stream.pointee.msg.map { String(cString: $0) } ?? "invalid compressed data"
                    throw DataError.corrupt(file: file, reason: "corrupt gzip data (\(msg))")
                case Z_MEM_ERROR:
                    throw DataError.corrupt(file: file, reason: "out of memory while inflating")
                default:
                    throw DataError.corrupt(file: file, reason: "zlib error \(status)")
                }
            }
        }
        out.removeLast(out.count - produced)
        return out
    }

    /// Gzip-compresses `input` (tests write fixtures with it; also handy for caches).
    package static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // windowBits 15 + 16: write a gzip header and trailer instead of zlib's.
        guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.invalid("zlib could not start deflating")
        }
        defer { deflateEnd(stream) }
        precondition(input.count < Int(UInt32.max), "compress handles inputs below 4 GiB")
        let bound = Int(deflateBound(stream, uLong(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let status = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst -> Int32 in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress ?? UnsafePointer(dst.baseAddress!))
                stream.pointee.avail_in = UInt32(input.count)
                stream.pointee.next_out = dst.baseAddress!
                stream.pointee.avail_out = UInt32(bound)
                return deflate(stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw DataError.invalid("zlib deflate failed (\(status))") }
        out.removeLast(Int(stream.pointee.avail_out))
        return out
    }

    /// The gzip trailer stores the uncompressed size mod 2^32; trust it only within
    /// deflate's maximum ratio (~1032:1) so a corrupt trailer cannot demand gigabytes.
    static func initialCapacity(_ input: [UInt8]) -> Int {
        let n = input.count
        guard n >= 18 else { return 1 << 12 }
        let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        let ceiling = n * 1032 + 1024
        return isize > 0 && isize <= ceiling ? isize : Swift.min(ceiling, Swift.max(n * 4, 1 << 12))
    }
}
