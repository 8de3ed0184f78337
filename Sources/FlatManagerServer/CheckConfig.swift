import FlatManagerCore
import Foundation
import OSTree
import SystemPackage

/// `flat-manager --check-config`: what a start-up would refuse, found without starting. Besides the config's own
/// validation (done by `Config.load`), every repo path must be an ostree repository, the build area must be
/// creatable, and every GPG key must be in the keyring.
enum CheckConfig {
    static func problems(in config: Config, file: String, runner: some CommandRunning) async -> [ConfigError] {
        var problems: [ConfigError] = []
        let fm = FileManager.default
        for name in config.repoNames {
            guard let repo = config.repos[name] else { continue }
            var isDirectory: ObjCBool = false
            if !fm.fileExists(atPath: repo.path.string, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append(.init(file: file, key: "repos.\(name).path", message: "\(repo.path) does not exist"))
            } else if !fm.fileExists(atPath: "\(repo.path)/config") || !fm.fileExists(atPath: "\(repo.path)/objects") {
                problems.append(
                    .init(file: file, key: "repos.\(name).path", message: "\(repo.path) is not an ostree repository"))
            }
            if let problem = await missingKey(repo.gpgKeys, key: "repos.\(name).gpg-key", config, file, runner) {
                problems.append(problem)
            }
        }
        let base = config.buildRepoBase.string
        let parent = (base as NSString).deletingLastPathComponent
        if !fm.fileExists(atPath: base) && !fm.isWritableFile(atPath: parent) {
            problems.append(
                .init(file: file, key: "build-repo-base", message: "\(base) does not exist and cannot be created"))
        } else if fm.fileExists(atPath: base) && !fm.isWritableFile(atPath: base) {
            problems.append(.init(file: file, key: "build-repo-base", message: "\(base) is not writable"))
        }
        if let problem = await missingKey(config.buildGPGKeys, key: "build-gpg-key", config, file, runner) {
            problems.append(problem)
        }
        return problems
    }

    /// nil when every key id exports (gpg exits 0 with no output for an unknown id, so both are checked).
    static func missingKey(
        _ keys: [String], key: String, _ config: Config, _ file: String, _ runner: some CommandRunning
    ) async -> ConfigError? {
        guard !keys.isEmpty else { return nil }
        for id in keys {
            let command = Command.gpgExport(binary: config.gpgBinary, homedir: config.gpgHomedir, keys: [id])
            let output = try? await runner.run(command)
            if output?.stdoutBytes.isEmpty ?? true {
                return ConfigError(file: file, key: key, message: "GPG key \(id) is not in the keyring")
            }
        }
        return nil
    }
}
