import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The build area (`build-repo-base`): one directory per build, from its creation to its removal.
///
/// A build's directory is an archive repository whose `parent` link points at the main repository (objects the
/// client did not upload are read from there), with a second repository `upload/` that receives the client's files
/// until the commit job imports them. The API creates and fills it, the jobs commit and publish from it and purge
/// removes it; all of them ask this type for its paths, so the layout is spelled in exactly one place.
public struct BuildStorage: Sendable, Equatable {
    /// The absolute `build-repo-base`.
    public let base: FilePath

    public init(base: FilePath) {
        self.base = base
    }

    /// `<base>/<id>`: the build repository served under `/build-repo/<id>`.
    public func directory(_ buildID: Int32) -> FilePath { base.appending("\(buildID)") }

    /// `<base>/<id>/upload`: the repository uploads land in, removed by the commit job.
    public func uploadDirectory(_ buildID: Int32) -> FilePath { directory(buildID).appending("upload") }

    /// `<base>/<id>/parent`: the link to the main repository.
    public func parentDirectory(_ buildID: Int32) -> FilePath { directory(buildID).appending("parent") }

    /// Where an upload's parts are written before they are renamed into place (on the same file system, inside
    /// a dot-directory that file serving never reaches).
    public func uploadStagingDirectory(_ buildID: Int32) -> FilePath {
        uploadDirectory(buildID).appending("deltas/.tmp")
    }

    /// Where an uploaded object is stored.
    public func uploadedObjectPath(_ buildID: Int32, _ name: ObjectName) -> FilePath {
        uploadDirectory(buildID).pushing(name.relativePath)
    }

    /// Where an uploaded static delta part is stored.
    public func uploadedDeltaPartPath(_ buildID: Int32, _ part: DeltaPartName) -> FilePath {
        uploadDirectory(buildID).pushing(part.relativePath)
    }

    /// Where the build repository itself keeps an object (the commit job writes there; `adoptObject` links there).
    public func ownObjectPath(_ buildID: Int32, _ name: ObjectName) -> FilePath {
        directory(buildID).pushing(name.relativePath)
    }

    /// Whether the build has `name`, making sure it keeps it: an object the client uploaded, or one the build
    /// repository holds, counts as it is; an object found only in the main repository (through `parent`) is
    /// hard-linked into the build repository first. So a build never relies on the main repository keeping an
    /// object: a prune may remove it there at any time, before or after this build's commit (ostree skips copying
    /// objects the destination or its parent has, so a commit alone would not make the build self-contained).
    /// False when the object is nowhere, or went from the main repository before it could be linked (the client
    /// then uploads it).
    public func adoptObject(_ buildID: Int32, _ name: ObjectName) -> Bool {
        let files = FileManager.default
        let own = ownObjectPath(buildID, name).string
        if files.fileExists(atPath: uploadedObjectPath(buildID, name).string) || files.fileExists(atPath: own) {
            return true
        }
        let shared = parentDirectory(buildID).pushing(name.relativePath).string
        if link(shared, own) == 0 || errno == EEXIST { return true }
        if errno == ENOENT {
            // Either the object is nowhere (the common answer, two system calls) or its `objects/xx` directory does
            // not exist in the build yet: only then is it made, and the link tried once more.
            guard files.fileExists(atPath: shared) else { return false }
            let parent = (own as NSString).deletingLastPathComponent
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { return false }
            if link(shared, own) == 0 || errno == EEXIST { return true }
            guard errno != ENOENT else { return false }
        }
        // Another file system after all (the README asks for one): a copy keeps the build self-contained too.
        return (try? files.copyItem(atPath: shared, toPath: own)) != nil
    }

    /// Creates the build repository and its upload repository, both with `parent` as their parent; the build
    /// repository gets the collection id `<collection-id>.Build<id>` when the main repository has one.
    public func create(_ buildID: Int32, parent: FilePath, collectionID: String?) throws {
        try RepoLayout.createBuildRepository(
            at: directory(buildID), parent: parent, collectionID: collectionID.map { "\($0).Build\(buildID)" })
        try RepoLayout.createBuildRepository(at: uploadDirectory(buildID), parent: parent, collectionID: nil)
    }

    /// Removes the upload repository once its content has been committed.
    public func removeUploads(_ buildID: Int32) throws {
        try FileManager.default.removeItem(atPath: uploadDirectory(buildID).string)
    }

    /// Whether the build still has its directory (publish removes it).
    public func exists(_ buildID: Int32) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory(buildID).string, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    /// Removes the build directory if it is there (the cleanup sweep); false when it was already gone. A symbolic
    /// link in its place is removed, never followed.
    @discardableResult
    public func removeIfPresent(_ buildID: Int32) throws -> Bool {
        try TreeRemoval.remove(directory(buildID))
    }

    /// Removes the whole build directory (publish, purge); a directory already gone is an error, as upstream's
    /// purge reports it. `removeItem` deletes symbolic links, it never follows them.
    public func remove(_ buildID: Int32) throws {
        try FileManager.default.removeItem(atPath: directory(buildID).string)
    }
}
