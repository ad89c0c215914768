using System.Runtime.InteropServices;

namespace DaprLlm.Outbox;

/// <summary>
/// Lowers the scheduling priority (nice value) of the calling thread, so the outbox's background work (the writer's
/// commits, the drain's reads and publishes) yields the cores to the requests that produce the events. Linux only (there
/// a nice value is per thread, and an unprivileged process may raise it); elsewhere, or when refused, nothing changes.
/// </summary>
public static partial class BackgroundPriority
{
    private const int PrioProcess = 0;

    /// <summary>Sets the calling thread's nice value to <paramref name="nice"/> (0: leave it); false when it could not.</summary>
    public static bool LowerCurrentThread(int nice)
    {
        if (nice <= 0 || !OperatingSystem.IsLinux())
        {
            return nice <= 0;
        }

        try
        {
            // PRIO_PROCESS with a thread id addresses that one thread on Linux (not the whole process).
            return SetPriority(PrioProcess, GetTid(), nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The calling thread's nice value (Linux), for tests.</summary>
    public static int CurrentThreadNice()
    {
        Marshal.SetLastPInvokeError(0);
        return GetPriority(PrioProcess, GetTid());
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    private static partial int GetPriority(int which, int who);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
