using System.Runtime.InteropServices;

namespace FrSpec.Numerics.CodeGen;

/// <summary>Puts machine code where it can run and returns its address; throws <see cref="FrSpecException"/> if the OS refuses.</summary>
internal delegate nint CodePlacer(byte[] code);

/// <summary>
/// Executable memory under W^X: pages are mapped read+write, the code is copied in, then the pages become
/// read+execute, so they are never writable and executable at once (mmap/mprotect on Linux and macOS,
/// VirtualAlloc/VirtualProtect on Windows). Placed code lives as long as the process: kernels are generated once.
/// </summary>
internal static unsafe partial class ExecutableMemory
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2;
    private const uint MemCommit = 0x1000, MemReserve = 0x2000, PageReadWrite = 0x04, PageExecuteRead = 0x20;

    /// <summary>The operating system's placer.</summary>
    public static nint Place(byte[] code)
    {
        nuint size = (nuint)((code.Length + 4095) & ~4095);
        try
        {
            if (OperatingSystem.IsWindows()) return PlaceWindows(code, size);
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()) return PlaceUnix(code, size);
        }
        catch (DllNotFoundException e) { throw new FrSpecException($"executable memory: {e.Message}"); }
        catch (EntryPointNotFoundException e) { throw new FrSpecException($"executable memory: {e.Message}"); }
        throw new FrSpecException($"executable memory: not implemented on {RuntimeInformation.OSDescription}");
    }

    private static nint PlaceUnix(byte[] code, nuint size)
    {
        int anonymous = OperatingSystem.IsLinux() ? 0x20 : 0x1000; // MAP_ANONYMOUS (Linux) / MAP_ANON (BSD, macOS)
        void* p = mmap(null, size, ProtRead | ProtWrite, MapPrivate | anonymous, -1, 0);
        if (p == (void*)-1 || p == null) throw new FrSpecException($"executable memory: mmap failed (errno {Marshal.GetLastPInvokeError()})");
        code.CopyTo(new Span<byte>(p, code.Length));
        if (mprotect(p, size, ProtRead | ProtExec) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            munmap(p, size);
            throw new FrSpecException($"executable memory: mprotect(read+execute) refused (errno {errno})");
        }
        return (nint)p;
    }

    private static nint PlaceWindows(byte[] code, nuint size)
    {
        void* p = VirtualAlloc(null, size, MemCommit | MemReserve, PageReadWrite);
        if (p == null) throw new FrSpecException($"executable memory: VirtualAlloc failed (error {Marshal.GetLastPInvokeError()})");
        code.CopyTo(new Span<byte>(p, code.Length));
        if (!VirtualProtect(p, size, PageExecuteRead, out _))
        {
            int error = Marshal.GetLastPInvokeError();
            VirtualFree(p, 0, 0x8000);
            throw new FrSpecException($"executable memory: VirtualProtect(execute+read) refused (error {error})");
        }
        FlushInstructionCache(GetCurrentProcess(), p, size);
        return (nint)p;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* addr, nuint length);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial void* VirtualAlloc(void* addr, nuint size, uint type, uint protect);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool VirtualProtect(void* addr, nuint size, uint protect, out uint old);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool VirtualFree(void* addr, nuint size, uint type);

    [LibraryImport("kernel32")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool FlushInstructionCache(nint process, void* addr, nuint size);

    [LibraryImport("kernel32")]
    private static partial nint GetCurrentProcess();
}
