/** What a file system error means, in words, for `PATH <this>`: a person never reads Node's ENOENT. */
export function fileProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "is not accessible to this user (permission denied)";
    case "EISDIR":
      return "is a directory, not a file";
    case "ENOTDIR":
      return "is under a path that is not a directory";
    case "ENOSPC":
      return "cannot be written: the disk is full";
    case "EDQUOT":
      return "cannot be written: the disk quota is used up";
    case "EROFS":
      return "cannot be written: the file system is read-only";
    case "EIO":
      return "could not be read or written: the disk reported an input/output error";
    case "ELOOP":
      return "is a loop of symbolic links";
    case "ENAMETOOLONG":
      return "is a name too long for the file system";
    default:
      return `could not be used (${(e?.message ?? String(err)).replace(/^[A-Z]+: /, "")})`;
  }
}
