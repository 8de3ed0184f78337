/// One file to upload: its part name (object or delta part name), where it is, how big it is.
struct UploadItem: Sendable, Equatable {
    var name: String
    var path: String
    var size: Int64
}

/// Splits uploads into request-sized batches (client.md A.8): a batch holds at most `maxBytes` and `maxCount`
/// items; an item of `maxBytes` or more travels alone. Order is kept.
struct UploadPlanner: Sendable {
    var maxBytes: Int64 = 4 * 1024 * 1024
    var maxCount: Int = 2000

    func batches(_ items: [UploadItem]) -> [[UploadItem]] {
        var batches: [[UploadItem]] = []
        var current: [UploadItem] = []
        var currentBytes: Int64 = 0
        for item in items {
            if item.size >= maxBytes {
                if !current.isEmpty { batches.append(current) }
                batches.append([item])
                current = []
                currentBytes = 0
                continue
            }
            if !current.isEmpty, currentBytes + item.size > maxBytes || current.count >= maxCount {
                batches.append(current)
                current = []
                currentBytes = 0
            }
            current.append(item)
            currentBytes += item.size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}
