namespace FrSpec.Formats;

/// <summary>
/// Bounded reads of input files that follow symbolic links (a Hugging Face cache snapshot links every file into
/// blobs/). <see cref="FileInfo.Length"/> is the size of a link itself, so sizes come from an open handle instead.
/// </summary>
internal static class InputFile
{
    /// <summary>Size in bytes of the file <paramref name="path"/> names, after following links (0 for a pipe); the file is not opened.</summary>
    public static long Length(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && File.ResolveLinkTarget(path, returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists) throw new FrSpecException($"{path}: file not found");
        return info.Length;
    }

    /// <summary>
    /// The whole file, refused with an error naming it when it is larger than <paramref name="maxBytes"/>
    /// (<paramref name="what"/> says what the file should be, e.g. "config file").
    /// </summary>
    public static byte[] ReadAll(string path, long maxBytes, string what)
    {
        using var handle = Open(path);
        long length = RandomAccess.GetLength(handle);
        if (length > maxBytes)
            throw new FrSpecException($"{path}: {length:N0} bytes is too large for a {what} (limit {maxBytes:N0})");
        var bytes = new byte[length];
        int done = 0;
        while (done < bytes.Length)
        {
            int n = RandomAccess.Read(handle, bytes.AsSpan(done), done);
            if (n <= 0) throw new FrSpecException($"{path}: the file shrank while it was read");
            done += n;
        }
        return bytes;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Open(string path)
    {
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FrSpecException($"{path}: file not found");
        }
        catch (UnauthorizedAccessException)
        {
            throw new FrSpecException(Directory.Exists(path) ? $"{path}: is a folder, not a file" : $"{path}: permission denied");
        }
    }
}
