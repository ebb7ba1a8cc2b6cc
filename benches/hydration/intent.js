// Hydrates on the admin's first sign of intent instead of at load (an
// experiment for benches/hydration.py, not what the console serves). The
// bundle is fetched at once, or only after the first contentful paint when
// AFTER_PAINT is true; `hydrate()` runs on the first pointer, touch, key or
// focus event, inside that event's capture listener, so the handlers it
// attaches see the event that follows (the click after a pointerdown).
(function (afterPaint) {
  const kinds = ["pointerover", "pointerdown", "touchstart", "keydown", "focusin"];
  let bundle = null;
  let wanted = false;
  let hydrated = false;
  const hydrate = () => {
    if (bundle && wanted && !hydrated) {
      hydrated = true;
      bundle.hydrate();
    }
  };
  const fetchBundle = () =>
    import("/pkg/textpeak.js").then((mod) =>
      mod.default({ module_or_path: "/pkg/textpeak.wasm" }).then(() => {
        bundle = mod;
        hydrate();
      }));
  const intent = () => {
    wanted = true;
    kinds.forEach((kind) => removeEventListener(kind, intent, true));
    hydrate();
  };
  kinds.forEach((kind) => addEventListener(kind, intent, { capture: true, passive: true }));
  if (!afterPaint) {
    fetchBundle();
    return;
  }
  new PerformanceObserver((list, observer) => {
    if (list.getEntriesByName("first-contentful-paint").length) {
      observer.disconnect();
      setTimeout(fetchBundle, 0);
    }
  }).observe({ type: "paint", buffered: true });
})(AFTER_PAINT);
