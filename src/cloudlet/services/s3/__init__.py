"""Amazon S3: buckets, objects streamed to and from disk, multipart uploads, versioning,
checksums, notifications, CORS and static websites. See `provider` for the map of modules."""
