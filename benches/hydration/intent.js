// Hydrates on the admin's first sign of intent instead of at load: an
// experiment for benches/hydration.py, not what the console serves. The
// bundle is fetched at once, or only after the first contentful paint when
// `afterPaint` is true. Hydration starts at the first pointer, touch, key or
// focus event. If the bundle has arrived by then, it runs inside that
// event's capture listener, so the handlers it attaches see the events that
// follow (the click after a pointerdown); if not, it runs when the bundle
// arrives, and a click made meanwhile is lost, as one made before hydration
// is today. hydration.py strips these comments and passes the arguments of
// the script it replaces.
(function (root, pkgPath, jsName, wasmName, afterPaint) {
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
    import(`${root}/${pkgPath}/${jsName}.js`)
      .then((mod) => mod.default({ module_or_path: `${root}/${pkgPath}/${wasmName}.wasm` }).then(() => {
        bundle = mod;
        hydrate();
      }))
      .catch((error) => console.error("the bundle could not be loaded", error));
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
})
