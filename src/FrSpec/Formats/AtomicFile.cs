using System.Text;

namespace FrSpec.Formats;

/// <summary>
/// Writes a file whole or not at all: the content goes to a temporary sibling tagged with this process's id
/// (NAME.PID-GUID.partial, unique per write so concurrent writers never share one) and is renamed over NAME only when
/// complete, so a reader, a crash or an interrupted run never sees a partial file, and a failed write leaves the previous
/// file as it was. The next write of NAME removes the temporaries that killed runs left (<see cref="StaleTemporaries"/>).
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes what <paramref name="write"/> puts into the stream to <paramref name="path"/>. Without
    /// <paramref name="overwrite"/>, a file at <paramref name="path"/> (even one that appears meanwhile) is an error and stays untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool overwrite = true) => Write(path, write, overwrite, bufferSize: 1 << 20);

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark, as <see cref="File.WriteAllText(string, string)"/>).</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)), overwrite: true, bufferSize: 1); // one write: no buffer

    private static void Write(string path, Action<Stream> write, bool overwrite, int bufferSize)
    {
        if (!overwrite && File.Exists(path)) throw new FrSpecException($"{path}: the file exists; choose a new name (nothing is overwritten)");
        RemoveStalePartials(path);
        string tmp = $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.partial";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize))
                write(fs);
            try { File.Move(tmp, path, overwrite); }
            catch (IOException) when (!overwrite && File.Exists(path))
            {
                throw new FrSpecException($"{path}: the file appeared while it was being written; it was left as it is");
            }
        }
        catch
        {
            StaleTemporaries.TryDeleteFile(tmp);
            throw;
        }
    }

    /// <summary>Removes the temporaries of <paramref name="path"/> that killed runs left (their process is gone).</summary>
    private static void RemoveStalePartials(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!, name = Path.GetFileName(path);
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.EnumerateFiles(dir, name + ".*.partial"))
        {
            string tag = Path.GetFileName(file)[(name.Length + 1)..^".partial".Length];
            if (int.TryParse(tag.Split('-')[0], out int pid) && !StaleTemporaries.IsRunning(pid)) StaleTemporaries.TryDeleteFile(file);
        }
    }
}
