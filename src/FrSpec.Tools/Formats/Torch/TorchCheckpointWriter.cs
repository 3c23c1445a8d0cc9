namespace FrSpec.Formats.Torch;

/// <summary>Which top folder torch.save gives the entries of its zip archive.</summary>
public enum TorchArchiveName
{
    /// <summary>"archive/": torch.save(obj, file_object), as FR-Spec's fr/fr.py writes freq_N.pt.</summary>
    FileObject,
    /// <summary>The file name without extension: torch.save(obj, "path/name.pt").</summary>
    FileStem,
}

/// <summary>Writes torch.save files (zip format) byte for byte as torch 1.13 does: FR-Spec frequency lists and state dicts.</summary>
public static class TorchCheckpointWriter
{
    /// <summary>Writes ids as torch 1.13's torch.save(list_of_ints, f) does, byte for byte.</summary>
    public static void WriteIntList(string path, IReadOnlyList<int> ids, TorchArchiveName archiveName = TorchArchiveName.FileObject)
    {
        ArgumentNullException.ThrowIfNull(ids);
        WriteArchive(path, archiveName, TorchPickleWriter.IntList(ids), []);
    }

    /// <summary>
    /// Writes an OrderedDict of tensors as torch 1.13's torch.save does, byte for byte (each tensor its own
    /// storage, requires_grad False; passing the same instance twice shares it, as for tied weights).
    /// </summary>
    public static void WriteStateDict(string path, IReadOnlyList<(string name, TorchTensor tensor)> tensors, TorchArchiveName archiveName = TorchArchiveName.FileObject)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var (pkl, storages) = TorchPickleWriter.StateDict(tensors);
        WriteArchive(path, archiveName, pkl, storages);
    }

    private static void WriteArchive(string path, TorchArchiveName archiveName, byte[] pkl, List<(string key, TorchTensor tensor)> storages)
    {
        string prefix = archiveName == TorchArchiveName.FileObject ? "archive" : StemOf(path);
        AtomicFile.Write(path, fs =>
        {
            var zip = new TorchZipWriter(fs, prefix);
            zip.WriteRecord("data.pkl", pkl);
            // torch writes storages in sorted key order (string order: "0", "1", "10", "2", ...).
            foreach (var (key, tensor) in storages.OrderBy(s => s.key, StringComparer.Ordinal))
                zip.WriteRecord("data/" + key, tensor.Data);
            zip.Finish();
        });
    }

    /// <summary>torch's archive name for a path: the base name up to its last '.'.</summary>
    internal static string StemOf(string path)
    {
        string name = Path.GetFileName(path);
        int dot = name.LastIndexOf('.');
        return dot >= 0 ? name[..dot] : name;
    }
}
