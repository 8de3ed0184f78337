import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird
import NIOCore
import OSTree
import SystemPackage

/// The dashboard's own pages: the queue, a repo's refs, and the stylesheet and script every page loads.
extension StatusController {
    @Sendable func stylesheet(_ request: Request, context: AppRequestContext) async throws -> Response {
        asset(StatusPages.stylesheet, contentType: "text/css; charset=utf-8")
    }

    @Sendable func script(_ request: Request, context: AppRequestContext) async throws -> Response {
        asset(StatusPages.script, contentType: "text/javascript; charset=utf-8")
    }

    func asset(_ text: String, contentType: String) -> Response {
        var headers = Self.pageHeaders(contentType: contentType)
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `/status/queue`: every job not yet finished, oldest first, with its age and what it waits for.
    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        let queued = try await store.queuedJobs()
        let now = Timestamp.now()
        var jobs: [[String: Any]] = []
        for entry in queued {
            let described = try await viewer.maySeeDetails(of: build(of: entry.job))
            jobs.append([
                "id": "\(entry.job.id)", "kind": entry.job.kind.displayName, "status": entry.job.status.displayName,
                "repo": described ? entry.job.repo ?? "" : "",
                "age": entry.times.queued.map { StatusFormat.duration(from: $0, to: now) } ?? "",
                "waits": Self.waits(of: entry, among: queued, now: now),
            ])
        }
        return html(
            render(
                "queue", ["title": "Queue", "jobs": jobs, "hasJobs": !jobs.isEmpty, "noscriptRefresh": true],
                for: viewer))
    }

    /// Why a job has not started (or how long it has been running): unfinished jobs it depends on, its start delay
    /// (an update-repo's `delay-update-secs`), a busy repo queue (publish, update-repo, republish and prune of one
    /// repo run one at a time), or else a free worker.
    static func waits(of entry: QueuedJob, among all: [QueuedJob], now: Timestamp) -> [[String: Any]] {
        let job = entry.job
        guard job.status == .new else {
            let running = entry.times.started.map { " for " + StatusFormat.duration(from: $0, to: now) } ?? ""
            return [["job": false, "text": "running" + running]]
        }
        var waits: [[String: Any]] = entry.waitsFor.map { dependency in
            [
                "job": "\(dependency.id)",
                "text": "(\(dependency.kind.displayName), \(dependency.status.displayName)) to finish",
            ]
        }
        if let startAfter = job.startAfter, startAfter > now {
            let what = job.kind == .updateRepo ? "the update delay" : "its start time"
            waits.append([
                "job": false,
                "text":
                    "\(what), until \(StatusFormat.time(startAfter)) (in \(StatusFormat.duration(from: now, to: startAfter)))",
            ])
        }
        if job.kind.runsOnRepoQueue, let repo = job.repo,
            let running = all.first(where: { $0.job.status == .started && $0.job.repo == repo })
        {
            waits.append([
                "job": "\(running.job.id)",
                "text": "(\(running.job.kind.displayName)) holding the queue of repo \(repo)",
            ])
        }
        if waits.isEmpty { waits.append(["job": false, "text": "a free worker"]) }
        return waits
    }

    /// `/status/repo/{repo}`: the refs of a configured repository with their commits, sizes, times and the static
    /// deltas that lead to them. Only configured names are looked up; nothing of the path comes from the request.
    @Sendable func repo(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        guard let name = context.parameters.get("repo"), let config = repos[name] else { throw APIError.notFound }
        var values: [String: Any] = ["title": "Repo \(name)", "name": name]
        let path = config.path
        do {
            let rows = try await repoPages.rows(of: name, at: path) { try Self.refRows(of: path) }
            values["refs"] = rows.map { row -> [String: Any] in
                [
                    "name": row.name, "commit": row.commit, "shortCommit": String(row.commit.prefix(12)),
                    "deltas": row.deltas, "updated": row.updated ?? "", "installedSize": row.installedSize ?? "",
                    "downloadSize": row.downloadSize ?? "",
                ]
            }
        } catch {
            values["error"] = "The repository could not be read."
            values["refs"] = [[String: Any]]()
        }
        values["hasRefs"] = (values["refs"] as? [[String: Any]])?.isEmpty == false
        if let modified = Self.modificationTime(config.path.appending("summary")) {
            values["summary"] = StatusFormat.time(modified)
        }
        return html(render("repo", values, for: viewer))
    }

    /// One row per ref under `refs/heads`, sorted by name. The deltas are grouped by the commit they lead to once
    /// (not scanned again for every ref: a large repository has thousands of each).
    static func refRows(of path: FilePath) throws -> [RepoPageCache.Row] {
        let repo = try LocalRepo(path: path)
        var deltasTo: [String: [String]] = [:]
        for delta in DeltaPlanning.scanDeltas(repo: path).complete {
            deltasTo[delta.to, default: []].append("from " + (delta.from.map { String($0.prefix(12)) } ?? "scratch"))
        }
        var rows: [RepoPageCache.Row] = []
        for ref in try Refs.list(repo: path).sorted() {
            guard let commit = try Refs.read(repo: path, ref: ref) else { continue }
            var row = RepoPageCache.Row(name: ref, commit: commit, deltas: (deltasTo[commit] ?? []).sorted())
            if let object = try? repo.loadCommit(commit) {
                row.updated = StatusFormat.time(Timestamp(secondsSinceEpoch: Int64(clamping: object.timestamp)))
                row.installedSize = Self.size(object.metadata["xa.installed-size"])
                row.downloadSize = Self.size(object.metadata["xa.download-size"])
            }
            rows.append(row)
        }
        return rows
    }

    /// A size flatpak wrote into commit metadata: a `t` stored big-endian (flatpak's `GUINT64_TO_BE`), which the
    /// GVariant reader, reading the little-endian wire form, hands over byte-swapped.
    static func size(_ value: GVariantValue?) -> String {
        guard case .uint64(let raw) = value else { return "" }
        return StatusFormat.bytes(raw.byteSwapped)
    }

    static func modificationTime(_ path: FilePath) -> Timestamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path.string),
            let date = attributes[.modificationDate] as? Date
        else { return nil }
        return Timestamp(date: date)
    }
}

/// How the pages write times, durations and sizes.
enum StatusFormat {
    /// `2026-12-05 07:10:13 UTC`.
    static func time(_ time: Timestamp) -> String {
        String(time.naiveString.prefix(19)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// `850 ms`, `12 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h` (negative spans read as 0).
    static func duration(from start: Timestamp, to end: Timestamp) -> String {
        let micros = end.microsecondsSinceEpoch.subtractingReportingOverflow(start.microsecondsSinceEpoch)
        let span = micros.overflow ? 0 : max(micros.partialValue, 0)
        if span < 1_000_000 { return "\(span / 1000) ms" }
        let seconds = span / 1_000_000
        switch seconds {
        case ..<60: return "\(seconds) s"
        case ..<3600: return "\(seconds / 60) min \(seconds % 60) s"
        case ..<86_400: return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        default: return "\(seconds / 86_400) d \(seconds % 86_400 / 3600) h"
        }
    }

    /// `1.5 MB` (powers of 1000, as flatpak prints them).
    static func bytes(_ count: UInt64) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    /// A job's times and the spans between them for the templates (empty strings for what has not happened).
    static func values(of times: JobTimes, now: Timestamp) -> [String: Any] {
        var waited = ""
        if let queued = times.queued { waited = duration(from: queued, to: times.started ?? now) }
        var ran = ""
        if let started = times.started { ran = duration(from: started, to: times.ended ?? now) }
        return [
            "times": true, "queued": times.queued.map(time) ?? "", "started": times.started.map(time) ?? "",
            "ended": times.ended.map(time) ?? "", "waited": waited, "ran": ran,
        ]
    }
}
