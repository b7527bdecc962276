#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Experiments
import Foundation

/// Who holds (or held) a unit: written into its claim file by the holder.
public struct ClaimHolder: Codable, Sendable, Equatable {
    public var host: String
    public var pid: Int32
    /// Seconds since 1970 when the claim was taken.
    public var started: Double
    public var unit: Int

    public var summary: String {
        "host \(host) pid \(pid) since \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: started)))"
    }
}

/// Advisory claims on units: `DIR/claims/NAME.claim`, locked with an open-file-description
/// lock (`F_OFD_SETLK`) for as long as the unit runs, holding the holder's host, pid and start
/// time. The kernel drops the lock when the holder exits however it exits (`kill -9`
/// included), so a claim file that is not locked but not empty is a stale claim: the next
/// process to reach the unit takes it over. OFD locks are fcntl locks (the kind network file
/// systems implement through their lock manager; only local disks are tested), but tied to the open file rather than the process, so two claims in
/// one process conflict as two processes' do, and closing some other descriptor of the file
/// does not drop them. Claim files are never deleted: unlinking a locked path would let a
/// third process lock a new file of the same name while the old lock is still held.
public final class UnitClaims {
    public let directory: URL
    /// Lines for the user (a skipped unit, a stale claim taken over).
    public var log: ((String) -> Void)?
    /// Seconds between progress-file writes of a running unit.
    public var progressInterval: Double = 2

    public init(directory: String) { self.directory = URL(fileURLWithPath: directory) }

    func claimURL(_ unit: RunUnit) -> URL { directory.appendingPathComponent("claims/\(unit.name).claim") }

    /// Claims `unit` for this process, or returns nil (and says so) when a live process holds it.
    public func claim(_ unit: RunUnit) throws -> UnitLease? {
        let url = claimURL(unit)
        try createDirectory(url.deletingLastPathComponent())
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.io("cannot open claim file \(url.path): \(String(cString: strerror(errno)))") }
        var lock = Glibc.flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        if fcntl(fd, OFDLock.set, &lock) != 0 {
            let err = errno
            close(fd)
            guard err == EAGAIN || err == EACCES else {
                throw RunError.io("cannot lock claim file \(url.path): \(String(cString: strerror(err)))")
            }
            let who = Self.holder(at: url).map { " by \($0.summary)" } ?? ""
            log?("unit \(unit.index) (\(unit.name)) is claimed\(who); skipping it")
            return nil
        }
        if let stale = Self.holder(at: url) {
            log?("unit \(unit.index) (\(unit.name)): taking over the stale claim of \(stale.summary) (that process is gone)")
        }
        let me = ClaimHolder(host: Self.hostName, pid: getpid(), started: Date().timeIntervalSince1970, unit: unit.index)
        let bytes = [UInt8](try JSONEncoder().encode(me))
        guard ftruncate(fd, 0) == 0, bytes.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            let err = errno
            close(fd)
            throw RunError.io("cannot write claim file \(url.path): \(String(cString: strerror(err)))")
        }
        return Lease(fd: fd, unit: unit, holder: me, claims: self)
    }

    /// The gate for `Runner.run` / `TVPGDRunner.run`.
    public var gate: UnitGate { { [self] unit in try self.claim(unit) } }

    /// The live holder of `unit`, or nil when no process holds its lock.
    public func liveHolder(_ unit: RunUnit) -> ClaimHolder? {
        let url = claimURL(unit)
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var lock = Glibc.flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(fd, OFDLock.get, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return Self.holder(at: url) ?? ClaimHolder(host: "?", pid: 0, started: 0, unit: unit.index)
    }

    static func holder(at url: URL) -> ClaimHolder? {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return nil }
        return try? JSONDecoder().decode(ClaimHolder.self, from: data)
    }

    static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "unknown" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw RunError.io("cannot create \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    final class Lease: UnitLease {
        let fd: Int32
        let unit: RunUnit
        let holder: ClaimHolder
        let claims: UnitClaims
        var lastWrite = Date.distantPast
        var released = false

        init(fd: Int32, unit: RunUnit, holder: ClaimHolder, claims: UnitClaims) {
            self.fd = fd
            self.unit = unit
            self.holder = holder
            self.claims = claims
        }

        func progress(_ p: RunProgress) {
            guard Date().timeIntervalSince(lastWrite) >= claims.progressInterval || p.message != nil else { return }
            lastWrite = Date()
            let snapshot = UnitProgress(unit: unit.index, host: holder.host, pid: holder.pid, cycle: p.cycle, cycles: p.cycles,
                                        iteration: p.iteration, iterations: p.iterations, updated: lastWrite.timeIntervalSince1970)
            // Progress is advisory: a failed write (a full disk) must not stop the training.
            try? UnitProgress.write(snapshot, to: UnitProgress.url(in: claims.directory, unit: unit))
        }

        func release() {
            guard !released else { return }
            released = true
            try? FileManager.default.removeItem(at: UnitProgress.url(in: claims.directory, unit: unit))
            // Emptied before unlocking: a non-empty unlocked claim means its holder died.
            _ = ftruncate(fd, 0)
            close(fd)
        }

        deinit { release() }
    }
}

/// Linux's open-file-description lock commands (not exported by every Glibc module map).
enum OFDLock {
    static let get: Int32 = 36  // F_OFD_GETLK
    static let set: Int32 = 37  // F_OFD_SETLK
}
