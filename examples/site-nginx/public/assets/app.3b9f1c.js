// The app: routes in the browser (/, /app/settings, ...), data from /api/.
const app = document.getElementById('app');
fetch('/api/me').then((r) => r.json()).then((me) => { app.textContent = `${location.pathname} (served by ${me.server})`; },
  () => { app.textContent = 'the API is down'; });
