import OSTree
import Testing

@testable import FlatManagerJobs

/// A job error's text is what clients and tests read in `error-message`, job logs and build state reasons.
@Suite("Job errors")
struct JobErrorTests {
    @Test(
        "each failure class reads as the jobs have always worded it",
        arguments: [
            (JobError.missingBuild(12), "Can't load build 12"),
            (.missingRepo("beta"), "Can't find repo beta"),
            (.noRefs, "No refs in build"),
            (.missingRef(ref: "app/a.b/x86_64/stable", repo: "/r"), "Ref app/a.b/x86_64/stable missing in /r"),
            (
                .unexpectedBuildState(expected: "repo to be in Committing state", job: "commit"),
                "Expected repo to be in Committing state at the end of the commit job"
            ),
            (
                .unexpectedBuildState(expected: "build to be in Publishing state", job: "publish"),
                "Expected build to be in Publishing state at the end of the publish job"
            ),
            (.database("connection reset"), "DbError: connection reset"),
            (.runner(command: "flatpak x", reason: "gone"), "Command flatpak x failed: gone"),
            (.invalidJob("Republish job requires a repo"), "Republish job requires a repo"),
            (.unusableHook("The hook has no command"), "The hook has no command"),
            (
                .refused("screenshots/x86_64", reason: "it is not attributable to one app (a.b, c.d)"),
                "Refusing screenshots/x86_64: it is not attributable to one app (a.b, c.d)"
            ),
            (.io("Cannot write /x/y", reason: "disk full"), "Cannot write /x/y: disk full"),
            (
                .io("Cannot create a staging directory for screenshots"),
                "Cannot create a staging directory for screenshots"
            ),
        ])
    func texts(error: JobError, text: String) {
        #expect(error.description == text)
    }

    @Test("a failed command reads as its command line and stderr")
    func commandText() {
        // Arrange
        let error = JobError.command(.failed(command: "flatpak build-update-repo /b", exitCode: 1, stderr: "no\n"))

        // Assert
        #expect(error.description == "Command flatpak build-update-repo /b exited unsuccessfully: no\n")
    }

    @Test("a failed hook reads as the hook failure")
    func hookText() {
        // Arrange
        let failure = HookFailure(label: "Publish hook", argv: ["/opt/hook"], exitCode: 3, stderr: "hook says no\n")

        // Assert
        #expect(JobError.hook(failure).description == "Publish hook /opt/hook failed with exit status 3: hook says no")
    }
}
