namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// This replica's allowance leased from one quota actor. Admission takes from it under a lock (no I/O); only when
/// it runs dry does a request wait for one actor call (single-flight). Everything here was already charged by the
/// actor, so whatever this replica admits from it stays within the actor's limit + burst. With
/// <see cref="RefreshAhead"/>, a lease in use is topped up in the background before it runs dry and renewed when its
/// minute ends, so steady traffic never waits for the actor. Exchanges are idempotent: one whose answer is lost is
/// sent again, unchanged, before anything new, and the actor applies it once (<see cref="QuotaRules"/>).
/// </summary>
public sealed class QuotaLease(string actorId, IQuotaActor actor) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _exchange = new(1, 1);
    private long _window = -1;
    private DateTimeOffset _validUntil;
    private int _requests;
    private long _tokens;
    private int _slots;
    private int _inFlight;
    private long _pendingDayReturn;
    private long _pendingDay; // the UTC day _pendingDayReturn was charged to
    private long _pendingCharge;
    private DateTimeOffset _lastUse;
    private LeaseGrant _lastSeen = new();

    // Guarded by _exchange. The id is random only to be unique across replicas and restarts; nothing depends on its value.
    private readonly string _leaseId = Guid.NewGuid().ToString("N");
    private long _sequence;
    private LeaseExchange? _unanswered;

    // Refresh ahead (off unless RefreshAhead is called): the settings, the minute-end timer, and whether the actor had
    // room for a whole lease last time (if not, near the limit, requests ask the actor themselves as before).
    private TimeProvider? _time;
    private int _leaseDivisor;
    private TimeSpan _activeWithin;
    private ITimer? _rollTimer;
    private bool _actorHadRoom;
    private int _refreshQueued;

    public string ActorId { get; } = actorId;

    public QuotaLimits Limits { get; set; } = new();

    /// <summary>
    /// Keeps this lease warm: when a take leaves less than half a lease, or its minute ends while it was used within
    /// <paramref name="activeWithin"/>, one background exchange tops it up. Quotas stay exact: the actor charges what it
    /// grants, as for an exchange on the request path; only the waiting moves off that path.
    /// </summary>
    public void RefreshAhead(TimeProvider time, int leaseDivisor, TimeSpan activeWithin)
    {
        lock (_lock)
        {
            (_time, _leaseDivisor, _activeWithin) = (time, leaseDivisor, activeWithin);
        }
    }

    /// <summary>Takes one request, its tokens and a slot from the local allowance; returns the window taken in, or null.</summary>
    public long? TryTake(long tokens, DateTimeOffset now)
    {
        long? window;
        bool refresh;
        lock (_lock)
        {
            Roll(now);
            window = TakeLocked(tokens, now);
            refresh = window is not null && _time is not null && _actorHadRoom && RunningLow();
        }

        if (refresh)
        {
            StartRefresh();
        }

        return window;
    }

    /// <summary>Local allowance ran dry: one actor call for what this request needs plus a lease for the next ones.</summary>
    public async Task<(long? Window, LeaseGrant Grant)> AcquireAsync(long tokens, int leaseDivisor, TimeProvider time, CancellationToken ct)
    {
        await _exchange.WaitAsync(ct);
        try
        {
            await ResendUnansweredAsync(time);

            // Another request (or the resent exchange's grant) may have refilled the lease while this one waited.
            if (TryTake(tokens, time.GetUtcNow()) is { } window)
            {
                return (window, _lastSeen);
            }

            LeaseExchange exchange;
            lock (_lock)
            {
                Roll(time.GetUtcNow());
                exchange = new LeaseExchange
                {
                    Limits = Limits,
                    ReturnDayTokens = _pendingDayReturn,
                    ReturnDay = _pendingDay,
                    ChargeTokens = _pendingCharge,
                    NeedRequests = _requests >= 1 ? 0 : 1,
                    NeedTokens = Math.Max(0, tokens - _tokens),
                    NeedSlots = Math.Max(0, _inFlight + 1 - _slots),
                };
                Extras(exchange, leaseDivisor);
                _pendingDayReturn = 0;
                _pendingCharge = 0;
            }

            var grant = await CallAsync(exchange);
            lock (_lock)
            {
                var now = time.GetUtcNow();
                Absorb(grant, exchange, now);

                // Taken before the lock is let go: what the actor granted for this request must not go to a request
                // that arrived meanwhile on the fast path. With a small lease (few spare slots or requests) that could
                // happen three times in a row, and a request within the limits was refused while leases warmed up.
                return (TakeLocked(tokens, now), grant);
            }
        }
        finally
        {
            _exchange.Release();
        }
    }

    /// <summary>A request ended: free its slot, give back unused reserved tokens, remember overruns to charge.</summary>
    public void Release(long window, long reserved, long used, DateTimeOffset now)
    {
        lock (_lock)
        {
            Roll(now);
            _inFlight = Math.Max(0, _inFlight - 1);
            _lastUse = now;
            var unused = reserved - used;
            if (unused < 0)
            {
                _pendingCharge += -unused;
            }
            else if (window == _window)
            {
                _tokens += unused;
            }
            else
            {
                ReturnToDay(unused, DayOf(window));
            }
        }
    }

    /// <summary>Puts back an admission that another quota refused (nothing ran).</summary>
    public void Undo(long window, long tokens, DateTimeOffset now)
    {
        lock (_lock)
        {
            Roll(now);
            _inFlight = Math.Max(0, _inFlight - 1);
            if (window == _window)
            {
                _requests++;
                _tokens += tokens;
            }
            else
            {
                ReturnToDay(tokens, DayOf(window));
            }
        }
    }

    /// <summary>Background settle: overruns, old-window returns, and the allowance of an idle lease go back to the actor.</summary>
    public async Task FlushAsync(TimeProvider time, TimeSpan idleAfter)
    {
        if (!await _exchange.WaitAsync(0))
        {
            return;
        }

        try
        {
            await ResendUnansweredAsync(time);
            LeaseExchange exchange;
            lock (_lock)
            {
                var now = time.GetUtcNow();
                Roll(now);
                var idle = _inFlight == 0 && now - _lastUse >= idleAfter && (_requests > 0 || _tokens > 0 || _slots > 0);
                if (!idle && _pendingCharge == 0 && _pendingDayReturn == 0)
                {
                    return;
                }

                exchange = new LeaseExchange
                {
                    Limits = Limits,
                    ReturnDayTokens = _pendingDayReturn,
                    ReturnDay = _pendingDay,
                    ChargeTokens = _pendingCharge,
                    ReturnWindow = _window,
                };
                if (idle)
                {
                    exchange.ReturnRequests = _requests;
                    exchange.ReturnTokens = _tokens;
                    exchange.ReturnSlots = _slots;
                    _requests = 0;
                    _tokens = 0;
                    _slots = 0;
                }

                _pendingDayReturn = 0;
                _pendingCharge = 0;
            }

            var grant = await CallAsync(exchange);
            lock (_lock)
            {
                _lastSeen = grant;
            }
        }
        finally
        {
            _exchange.Release();
        }
    }

    /// <summary>
    /// One background top-up while no other exchange runs: one more request (so the actor grants at all), the slots of
    /// requests still in flight after a minute ended, and a lease on top. A failure is left to the next request, which
    /// then calls the actor itself and sees the error as before.
    /// </summary>
    public async Task RefreshAsync()
    {
        Volatile.Write(ref _refreshQueued, 0);
        if (_time is not { } time || !await _exchange.WaitAsync(0))
        {
            return;
        }

        try
        {
            await ResendUnansweredAsync(time);
            LeaseExchange exchange;
            lock (_lock)
            {
                Roll(time.GetUtcNow());
                if (_window >= 0 && !RunningLow())
                {
                    // A request on the slow path refilled it meanwhile.
                    return;
                }

                exchange = new LeaseExchange
                {
                    Limits = Limits,
                    ReturnDayTokens = _pendingDayReturn,
                    ReturnDay = _pendingDay,
                    ChargeTokens = _pendingCharge,
                    NeedRequests = 1,
                    NeedSlots = Math.Max(0, _inFlight - _slots),
                };
                Extras(exchange, _leaseDivisor);
                _pendingDayReturn = 0;
                _pendingCharge = 0;
            }

            var grant = await CallAsync(exchange);
            lock (_lock)
            {
                Absorb(grant, exchange, time.GetUtcNow());
            }
        }
        catch (Exception)
        {
            // The exchange is kept unanswered; the next request on the slow path (or the flusher) sends it again.
        }
        finally
        {
            _exchange.Release();
        }
    }

    public void Dispose() => _rollTimer?.Dispose();

    /// <summary>Figures for the x-ratelimit-* headers: what is left (actor + local) and when the window resets.</summary>
    public (int Requests, long Tokens, TimeSpan Reset) Remaining(DateTimeOffset now)
    {
        lock (_lock)
        {
            var reset = _validUntil > now ? _validUntil - now : TimeSpan.Zero;
            return _window < 0
                ? (Limits.RequestsPerMinute, Limits.TokensPerMinute, reset)
                : (Math.Min(Limits.RequestsPerMinute, _lastSeen.RemainingRequests + _requests),
                   Math.Min(Limits.TokensPerMinute, _lastSeen.RemainingTokens + _tokens), reset);
        }
    }

    // Called holding _exchange, after ResendUnansweredAsync. A failed call may still have been applied (the answer was
    // lost after the actor saved): the exchange is kept as it is, never merged into the pending figures, which the
    // actor would then credit or charge a second time.
    private async Task<LeaseGrant> CallAsync(LeaseExchange exchange)
    {
        exchange.LeaseId = _leaseId;
        exchange.Sequence = ++_sequence;
        _unanswered = exchange;
        var grant = await actor.ExchangeAsync(exchange);
        _unanswered = null;
        return grant;
    }

    // Called holding _exchange, before any new exchange. The same exchange (id and figures) goes again: the actor applies
    // it if the lost call never reached it, or answers what it granted then; either way this lease takes up the grant,
    // which the actor counts as leased. Throws while the actor still does not answer (the exchange stays unanswered).
    private async Task ResendUnansweredAsync(TimeProvider time)
    {
        if (_unanswered is not { } lost)
        {
            return;
        }

        var grant = await actor.ExchangeAsync(lost);
        _unanswered = null;
        lock (_lock)
        {
            if (lost.NeedRequests > 0 || lost.NeedTokens > 0 || lost.NeedSlots > 0)
            {
                Absorb(grant, lost, time.GetUtcNow());
            }
            else
            {
                // A settle only (FlushAsync): nothing was asked, so nothing to take up.
                _lastSeen = grant;
            }
        }
    }

    private void StartRefresh()
    {
        if (Interlocked.Exchange(ref _refreshQueued, 1) == 0)
        {
            _ = Task.Run(RefreshAsync);
        }
    }

    // Below half a lease of requests, tokens or spare slots (a lease of 0 of something never counts as low).
    private bool RunningLow() =>
        _requests * 2L < (Limits.RequestsPerMinute + (long)Limits.BurstRequests) / _leaseDivisor
        || _tokens * 2 < Math.Min(Limits.TokensPerMinute + Limits.BurstTokens, Limits.TokensPerDay) / _leaseDivisor
        || (_slots - _inFlight) * 2L < Limits.MaxConcurrentRequests / _leaseDivisor;

    private void Extras(LeaseExchange exchange, int leaseDivisor)
    {
        exchange.ExtraRequests = (Limits.RequestsPerMinute + Limits.BurstRequests) / leaseDivisor;
        // Leased tokens count against today's budget too until returned: size the lease by the tighter of the two.
        exchange.ExtraTokens = Math.Min(Limits.TokensPerMinute + Limits.BurstTokens, Limits.TokensPerDay) / leaseDivisor;
        // Without spare slots every new concurrency high waits for a (single-flight) actor call, which at a steady
        // 1,000 req/s queued requests behind each other and refused some after three tries.
        exchange.ExtraSlots = Limits.MaxConcurrentRequests / leaseDivisor;
    }

    private long? TakeLocked(long tokens, DateTimeOffset now)
    {
        if (_window < 0 || _requests < 1 || _tokens < tokens || _slots - _inFlight < 1)
        {
            return null;
        }

        _requests--;
        _tokens -= tokens;
        _inFlight++;
        _lastUse = now;
        return _window;
    }

    private void Absorb(LeaseGrant grant, LeaseExchange asked, DateTimeOffset now)
    {
        _lastSeen = grant;
        _actorHadRoom = grant.Granted && grant.Requests >= asked.NeedRequests + asked.ExtraRequests
            && grant.Tokens >= asked.NeedTokens + asked.ExtraTokens && grant.Slots >= asked.NeedSlots + asked.ExtraSlots;
        if (grant.Window != _window)
        {
            ReturnToDay(_tokens, DayOf(_window));
            _requests = 0;
            _tokens = 0;
            _slots = 0;
            _window = grant.Window;
        }

        _validUntil = now + TimeSpan.FromMilliseconds(grant.MinuteResetMs);
        if (grant.Granted)
        {
            _requests += grant.Requests;
            _tokens += grant.Tokens;
            _slots += grant.Slots;
        }

        if (_time is { } time)
        {
            // Renew when the minute ends, unless the lease has gone quiet by then (an idle lease stays returned).
            _rollTimer ??= time.CreateTimer(_ => OnMinuteEnd(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _rollTimer.Change(_validUntil - now, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnMinuteEnd()
    {
        bool active;
        lock (_lock)
        {
            if (_time is not { } time)
            {
                return;
            }

            var now = time.GetUtcNow();
            if (now < _validUntil)
            {
                // Early (a renewal moved the end, or the timer ran ahead of this clock): wait for the real end.
                _rollTimer?.Change(_validUntil - now, Timeout.InfiniteTimeSpan);
                return;
            }

            active = _inFlight > 0 || now - _lastUse < _activeWithin;
        }

        if (active)
        {
            StartRefresh();
        }
    }

    private static long DayOf(long minuteWindow) => minuteWindow * 60_000 / 86_400_000;

    // Unused tokens go back to the day they were charged to; once a later day's come in, the earlier day is over and
    // its leftovers are dropped (credited today they would let the day's total pass its limit).
    private void ReturnToDay(long tokens, long day)
    {
        if (tokens <= 0 || day < 0)
        {
            return;
        }

        if (day > _pendingDay)
        {
            _pendingDayReturn = 0;
            _pendingDay = day;
        }

        if (day == _pendingDay)
        {
            _pendingDayReturn += tokens;
        }
    }

    // At the end of the minute the lease is void: unused tokens only credit the day, requests and slots lapse
    // (the actor resets its counters for the new minute, so in-flight requests re-lease their slots).
    private void Roll(DateTimeOffset now)
    {
        if (_window >= 0 && now >= _validUntil)
        {
            ReturnToDay(_tokens, DayOf(_window));
            _requests = 0;
            _tokens = 0;
            _slots = 0;
            _window = -1;
        }
    }
}
