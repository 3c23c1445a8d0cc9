using System.Text;
using Xunit.Abstractions;
using FrSpec.Formats.Torch;

namespace FrSpec.Tests.Formats;

/// <summary>Hostile or broken files must be rejected with an error naming the file and the problem, never executed.</summary>
public class TorchMaliciousInputTests(ITestOutputHelper output)
{
    private static string WriteArchive(TorchFixtures.TempDir tmp, byte[] pkl, params (string name, byte[] data)[] extra)
    {
        string path = tmp.File("evil.pt");
        using (var fs = File.Create(path))
        {
            var zip = new TorchZipWriter(fs, "archive");
            zip.WriteRecord("data.pkl", pkl);
            foreach (var (name, data) in extra) zip.WriteRecord(name, data);
            zip.Finish();
        }
        return path;
    }

    private FrSpecException Reject(string path)
    {
        var e = Assert.Throws<FrSpecException>(() => TorchCheckpoint.ReadStateDict(path));
        output.WriteLine(e.Message);
        return e;
    }

    /// <summary>Pickle bytes from parts: ints are single bytes, strings are ASCII.</summary>
    private static byte[] Pk(params object[] parts)
    {
        var b = new List<byte>();
        foreach (var p in parts)
        {
            if (p is int i) b.Add((byte)i);
            else b.AddRange(Encoding.ASCII.GetBytes((string)p));
        }
        return b.ToArray();
    }

    /// <summary>BINUNICODE of an ASCII string.</summary>
    private static object[] U(string s) => [(int)'X', s.Length, 0, 0, 0, s];

    [Fact]
    public void Os_system_global_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        // The classic payload: os.system("echo pwned") via GLOBAL + REDUCE.
        var pkl = Pk([0x80, 2, "cos\nsystem\n", .. U("echo pwned"), 0x85, "R."]);
        var e = Reject(WriteArchive(tmp, pkl));
        Assert.Contains("os.system", e.Message);
        Assert.Contains("evil.pt", e.Message);
    }

    [Fact]
    public void Builtins_eval_via_stack_global_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        var pkl = Pk(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, 0x8c, 1, "1", 0x85, "R.");
        var e = Reject(WriteArchive(tmp, pkl));
        Assert.Contains("builtins.eval", e.Message);
    }

    [Fact]
    public void Unknown_opcode_is_rejected_by_name()
    {
        using var tmp = new TorchFixtures.TempDir();
        // INST ('i') would instantiate a class by name.
        var pkl = Pk(0x80, 2, "(isubprocess\nPopen\n.");
        var e = Reject(WriteArchive(tmp, pkl));
        Assert.Contains("INST", e.Message);
        Assert.Contains("data.pkl", e.Message);
        var e2 = Reject(WriteArchive(tmp, Pk(0x80, 2, 0xff, ".")));
        Assert.Contains("0xff", e2.Message);
    }

    [Fact]
    public void Torch_nn_module_global_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        var pkl = Pk(0x80, 2, "ctorch.nn.modules.linear\nLinear\nq", 0, ").");
        Assert.Contains("torch.nn.modules.linear.Linear", Reject(WriteArchive(tmp, pkl)).Message);
    }

    [Fact]
    public void Build_on_non_dict_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        var pkl = Pk(0x80, 2, "]}b.");
        Assert.Contains("BUILD", Reject(WriteArchive(tmp, pkl)).Message);
    }

    /// <summary>OrderedDict{'w': _rebuild_tensor_v2(storage(numel), offset, (size,), (1,), False, OrderedDict())}.</summary>
    private static byte[] OneTensorDict(int[] numelBinint, int offset, int[] sizeBinint) => Pk(
        [0x80, 2, "ccollections\nOrderedDict\nq", 0, ")Rq", 1, .. U("w"),
         "ctorch._utils\n_rebuild_tensor_v2\n((", .. U("storage"), "ctorch\nFloatStorage\n", .. U("0"), .. U("cpu"),
         .. numelBinint.Cast<object>(), "tQK", offset, .. sizeBinint.Cast<object>(), 0x85, "K", 1, 0x85, 0x89, "h", 0, ")RtRs."]);

    [Fact]
    public void Storage_shorter_than_claimed_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        // A tensor claiming 1e9 floats backed by a 4-byte storage: must fail before allocating.
        int[] billion = [(int)'J', 0x00, 0xca, 0x9a, 0x3b];
        var e = Reject(WriteArchive(tmp, OneTensorDict(billion, 0, billion), ("data/0", new byte[4])));
        Assert.Contains("data/0", e.Message);
    }

    [Fact]
    public void View_past_storage_end_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        // storage of 2 floats, view offset 1 size 2 => reaches element 2.
        var e = Reject(WriteArchive(tmp, OneTensorDict([(int)'K', 2], 1, [(int)'K', 2]), ("data/0", new byte[8])));
        Assert.Contains("storage '0'", e.Message);
        // sanity: the same pickle with offset 0 is accepted
        var ok = TorchCheckpoint.ReadStateDict(WriteArchive(tmp, OneTensorDict([(int)'K', 2], 0, [(int)'K', 2]), ("data/0", new byte[8])));
        Assert.Equal(new long[] { 2 }, ok["w"].Shape);
    }

    [Fact]
    public void Truncated_zip_is_rejected_with_file_name()
    {
        using var tmp = new TorchFixtures.TempDir();
        var bytes = File.ReadAllBytes(TorchFixtures.PathOf("state_dict_simple.pt"));
        foreach (int cut in new[] { 3, 100, 600, bytes.Length - 30, bytes.Length - 1 })
        {
            string p = tmp.File($"cut{cut}.pt");
            File.WriteAllBytes(p, bytes[..cut]);
            var e = Assert.Throws<FrSpecException>(() => TorchCheckpoint.ReadStateDict(p));
            Assert.Contains($"cut{cut}.pt", e.Message);
        }
    }

    [Fact]
    public void Legacy_non_zip_file_is_rejected_clearly()
    {
        var e = Assert.Throws<FrSpecException>(() => TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("legacy.pt")));
        Assert.Contains("legacy", e.Message);
        Assert.Contains("legacy.pt", e.Message);
    }

    [Fact]
    public void Random_garbage_is_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        var rng = new Random(1);
        var bytes = new byte[5000];
        rng.NextBytes(bytes);
        File.WriteAllBytes(tmp.File("junk.pt"), bytes);
        Assert.Throws<FrSpecException>(() => TorchCheckpoint.ReadIntList(tmp.File("junk.pt")));
    }

    [Fact]
    public void Corrupted_bytes_never_crash_with_other_exceptions()
    {
        using var tmp = new TorchFixtures.TempDir();
        var good = File.ReadAllBytes(TorchFixtures.PathOf("state_dict_shared.pt"));
        var rng = new Random(7);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])good.Clone();
            for (int k = 0; k < 3; k++) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            string p = tmp.File("fuzz.pt");
            File.WriteAllBytes(p, bytes);
            try { TorchCheckpoint.ReadStateDict(p); }
            catch (FrSpecException) { }
        }
    }
}
